"""One model shared by many threads, each with its own sessions (ctypes releases the GIL
during library calls, so these run truly in parallel)."""
import threading

PROMPTS = ["a red circle above a blue star", "two green squares", "a small pink heart in the center",
           "a yellow ring to the left of the yellow ring"]


def test_eight_threads_match_sequential_runs(model):
    jobs = [(PROMPTS[k % 3], k) for k in range(16)]
    expected = {seed: model.generate(p, seed=seed, cfg=2.0, threads=1).codes for p, seed in jobs}
    results, errors = {}, []

    def worker(part):
        try:
            for p, seed in jobs[part::8]:
                results[seed] = model.generate(p, seed=seed, cfg=2.0, threads=2).codes
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert results == expected


def test_freeing_sessions_while_others_run(model):
    stop = threading.Event()
    errors = []

    def churn():
        try:
            while not stop.is_set():
                s = model.session(seed=1)
                s.plan("a red circle")
                s.step(3)
                s.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=churn)
    t.start()
    try:
        for seed in range(3):
            img = model.generate("two blue stars", seed=seed)
            assert len(img.codes) == 256
    finally:
        stop.set()
        t.join()
    assert errors == []
