"""`ponder serve` (docs/serving.md): the stock `openai` client against a server started on
127.0.0.1 gets the in-process images byte for byte; errors, limits, the API key and a full
queue get their status and message (FastAPI's TestClient, in process); a client that
disconnects has its drawing stopped; a load of 16 clients × 8 requests loses nothing and
its throughput is compared with in-process parallel generation; SIGTERM finishes or cancels
what runs."""
import base64
import io
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import ponder
from ponder.serve import Settings, make_app

ROOT = Path(__file__).resolve().parents[3]
SHAPES = ROOT / "models" / "ponder-shapes-q8_0.gguf"
READER = ROOT / "Tests" / "Models" / "test-reader.gguf"
PROMPT = "a red circle to the left of a blue square"


class Server:
    """`python -m ponder serve` in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, tmp: Path, *args: str):
        self.log, self.access = tmp / "server.log", tmp / "access.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PONDER_")}
        env["PYTHONPATH"] = str(ROOT / "bindings" / "python")
        self.process = subprocess.Popen([sys.executable, "-m", "ponder", "serve", "--port", "0", "--access-log",
                                         str(self.access), *args], stdout=subprocess.DEVNULL,
                                        stderr=open(self.log, "w"), env=env, cwd=tmp)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"on http://127\.0\.0\.1:(\d+) ", self.log.read_text())
            if found:
                self.url = f"http://127.0.0.1:{found.group(1)}"
                break
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.05)
        else:
            raise AssertionError("the server did not start:\n" + self.log.read_text())
        wait_until(lambda: self.get_ok("/health"), 30)

    def get_ok(self, path):
        try:
            return httpx.get(self.url + path, timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def health(self) -> dict:
        return httpx.get(self.url + "/health", timeout=5).json()

    def access_entries(self) -> list[dict]:
        return [json.loads(line) for line in self.access.read_text().splitlines() if line.startswith("{")]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until(condition, seconds, step=0.02):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    raise AssertionError(f"not within {seconds} s")


@pytest.fixture(scope="module")
def shapes():
    return ponder.Model(SHAPES)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("serve"), "--model", str(SHAPES), "--workers", "2")
    yield s
    s.stop()


# --- the stock OpenAI client --------------------------------------------------------------


def test_the_openai_client_gets_the_in_process_images(server, shapes):
    from openai import OpenAI
    client = OpenAI(base_url=server.url + "/v1", api_key="unused")
    assert [m.id for m in client.models.list()] == ["ponder-shapes"]
    answer = client.images.generate(model="ponder-shapes", prompt=PROMPT, response_format="b64_json", n=2,
                                    size="128x128", extra_body={"seed": 11, "think": True, "check": 2})
    assert answer.created > 0 and len(answer.data) == 2
    for k, item in enumerate(answer.data):
        expected = shapes.generate(PROMPT, seed=11 + k, check=2)
        assert base64.b64decode(item.b64_json) == expected.png()
        assert item.revised_prompt == expected.plan
        assert item.model_extra["seed"] == 11 + k and item.model_extra["plan_satisfied"] == expected.plan_satisfied

    unplanned = client.images.generate(prompt="a green star", response_format="b64_json",
                                       extra_body={"seed": 3, "think": False, "cfg": 1.0})
    expected = shapes.generate("a green star", seed=3, think=False, cfg=1.0)
    assert base64.b64decode(unplanned.data[0].b64_json) == expected.png() and unplanned.data[0].revised_prompt is None

    import openai
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(prompt="a red circel", response_format="b64_json")
    assert e.value.status_code == 400 and "'circel'" in e.value.message and "did you mean 'circle'" in e.value.message
    with pytest.raises(openai.BadRequestError) as e:
        client.images.generate(prompt="a red circle", size="1024x1024", response_format="b64_json")
    assert "'128x128'" in e.value.message


def test_the_openai_client_edits_a_region_by_mask_or_box(server, shapes):
    from openai import OpenAI
    from PIL import Image as PILImage
    client = OpenAI(base_url=server.url + "/v1", api_key="unused")
    base = shapes.generate(PROMPT, seed=4)
    mask = PILImage.new("RGBA", (128, 128), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (80, 40, 126, 90))  # transparent: the part to redraw
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    answer = client.images.edit(image=("base.png", base.png(), "image/png"), mask=("mask.png", buffer.getvalue(),
                                "image/png"), prompt="a small yellow star", response_format="b64_json",
                                extra_body={"seed": 5, "image_plan": base.plan})
    expected = shapes.redraw(base, (80, 40, 126, 90), "a small yellow star", seed=5, image_plan=base.plan)
    assert base64.b64decode(answer.data[0].b64_json) == expected.png()
    assert answer.data[0].revised_prompt == expected.plan and "small yellow star" in expected.plan

    by_box = httpx.post(server.url + "/v1/images/edits", files={"image": ("b.png", base.png(), "image/png")},
                        data={"box": "80,40,126,90", "prompt": "a small yellow star", "seed": "5",
                              "image_plan": base.plan}, timeout=60)
    assert by_box.status_code == 200 and base64.b64decode(by_box.json()["data"][0]["b64_json"]) == expected.png()

    described = httpx.post(server.url + "/v1/images/describe", files={"image": ("b.png", base.png(), "image/png")},
                           timeout=60)
    assert described.status_code == 200 and described.json()["plan"] == shapes.describe(base)


# --- errors, limits, the key, a full queue (in process) --------------------------------------


@pytest.fixture(scope="module")
def client():
    from fastapi.testclient import TestClient
    app = make_app(Settings(model_path=str(READER), workers=1, queue=3, max_n=4, max_request_bytes=65536,
                            api_key="sesame"))
    with TestClient(app, headers={"Authorization": "Bearer sesame"}) as c:
        yield c


def error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def test_errors_come_in_the_openai_shape_with_the_library_message(client):
    url = "/v1/images/generations"
    e = error(client.post(url, json={"prompt": "a red circel to the left of a blue square"}), 400)
    assert e["param"] == "prompt" and e["code"] == "bad_prompt" and "'circel'" in e["message"]
    e = error(client.post(url, json={"prompt": "a red circle", "size": "256x256"}), 400)
    assert e["param"] == "size" and "'128x128'" in e["message"]
    e = error(client.post(url, json={"prompt": "a red circle", "n": 5}), 400)
    assert e["param"] == "n" and "1 to 4" in e["message"]
    e = error(client.post(url, json={"prompt": "a red circle", "n": 0}), 400)
    assert e["param"] == "n"
    e = error(client.post(url, json={"prompt": "a red circle", "sead": 1}), 400)
    assert e["message"] == "unknown field 'sead'"
    e = error(client.post(url, json={"prompt": "a red circle", "seed": -1}), 400)
    assert e["param"] == "seed"
    e = error(client.post(url, json={"prompt": "a red circle", "seed": 2 ** 64 - 1, "n": 2}), 400)
    assert e["param"] == "seed" and "largest seed" in e["message"]
    e = error(client.post(url, json={"prompt": "a red circle", "think": "yes"}), 400)
    assert e["param"] == "think"
    e = error(client.post(url, json={"prompt": "a red circle", "cfg": 1000}), 400)
    assert "1000" in e["message"] and e["code"] == "invalid_argument"
    e = error(client.post(url, json={"prompt": "a red circle", "response_format": "url"}), 400)
    assert e["param"] == "response_format" and "b64_json" in e["message"]
    e = error(client.post(url, json={"prompt": "a red circle", "model": "dall-e-3"}), 404)
    assert e["code"] == "model_not_found" and "test-reader" in e["message"]
    e = error(client.post(url, content=b"{not json", headers={"Content-Type": "application/json"}), 400)
    assert "JSON object" in e["message"]
    e = error(client.post(url, json={}), 400)
    assert e["message"] == "'prompt' is required"
    e = error(client.get("/v1/nothing"), 404)
    assert "/v1/nothing" in e["message"]


def test_edit_and_describe_refuse_bad_pictures_and_regions(client, reader):
    from PIL import Image as PILImage
    url = "/v1/images/edits"
    picture = reader.generate("a red circle", seed=1, check=0, plan_attempts=1)
    png = ("p.png", picture.png(), "image/png")
    e = error(client.post(url, files={"image": png}, data={"prompt": "a small red star"}), 400)
    assert "'mask'" in e["message"] and "'box'" in e["message"]
    e = error(client.post(url, files={"image": png}, data={"box": "1,2,3"}), 400)
    assert e["param"] == "box" and "four integers" in e["message"]
    e = error(client.post(url, files={"image": png}, data={"box": "0,0,300,10"}), 400)
    assert "not a box inside the 128×128 image" in e["message"]
    e = error(client.post(url, files={"image": ("p.png", b"\x89PNG nonsense", "image/png")}, data={"box": "0,0,9,9"}), 400)
    assert e["param"] == "image"
    small = ponder.Image.from_rgb(bytes(3 * 64 * 64), 64, 64).png()
    e = error(client.post(url, files={"image": ("s.png", small, "image/png")}, data={"box": "0,0,9,9"}), 400)
    assert "64x64" in e["message"] and "128x128" in e["message"]
    opaque = io.BytesIO()
    PILImage.new("RGB", (128, 128)).save(opaque, "PNG")
    e = error(client.post(url, files={"image": png, "mask": ("m.png", opaque.getvalue(), "image/png")}), 400)
    assert e["param"] == "mask" and "alpha" in e["message"]
    solid = io.BytesIO()
    PILImage.new("RGBA", (128, 128), (0, 0, 0, 255)).save(solid, "PNG")
    e = error(client.post(url, files={"image": png, "mask": ("m.png", solid.getvalue(), "image/png")}), 400)
    assert "no fully transparent pixel" in e["message"]
    # No image_plan: the model reads the picture's plan, as in process for a PNG.
    cleared = client.post(url, files={"image": png}, data={"box": "0,0,64,64", "seed": "2"})
    assert cleared.status_code == 200, cleared.text
    expected = reader.redraw(ponder.Image.from_png(picture.png()), (0, 0, 64, 64), None, seed=2)
    assert base64.b64decode(cleared.json()["data"][0]["b64_json"]) == expected.png()
    e = error(client.post("/v1/images/describe", files={"image": ("s.png", small, "image/png")}), 400)
    assert "64x64" in e["message"]


def test_the_api_key_and_the_request_size_limit(client):
    body = {"prompt": "a red circle", "seed": 1, "check": 0}
    e = error(client.post("/v1/images/generations", json=body, headers={"Authorization": ""}), 401)
    assert e["code"] == "invalid_api_key" and "no API key" in e["message"]
    e = error(client.post("/v1/images/generations", json=body, headers={"Authorization": "Bearer open"}), 401)
    assert "not this server's" in e["message"]
    e = error(client.get("/v1/models", headers={"Authorization": "Basic sesame"}), 401)
    assert client.get("/health", headers={"Authorization": ""}).status_code == 200  # for load balancers
    assert client.post("/v1/images/generations", json=body).status_code == 200
    e = error(client.post("/v1/images/generations", json={"prompt": "a red circle " * 6000}), 413)
    assert "65536 bytes" in e["message"] and e["code"] == "request_too_large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(10):
            yield b" " * 10000
    e = error(client.post("/v1/images/generations", content=chunks(), headers={"Content-Type": "application/json"}), 413)


def test_a_full_queue_is_a_503_with_retry_after(client):
    # workers 1 + queue 3: four images at once. A request for 4 images holds all of them
    # while it draws (the test model, 16 reads each: a fraction of a second, long beside the
    # few milliseconds between seeing it run and the next request).
    long = {"prompt": "a red circle", "n": 4, "seed": 1, "check": 16}
    first = {}
    t = threading.Thread(target=lambda: first.update(r=client.post("/v1/images/generations", json=long)))
    t.start()
    try:
        wait_until(lambda: client.get("/health").json()["running"] == 1, 30, 0.005)
        e = client.post("/v1/images/generations", json={"prompt": "a red circle", "check": 0})
        health = client.get("/health").json()
    finally:
        t.join()
    error(e, 503)
    assert e.json()["error"]["code"] == "server_busy" and int(e.headers["Retry-After"]) >= 1
    assert health["rejected"] >= 1 and health["running"] + health["queued"] == 4
    assert first["r"].status_code == 200 and len(first["r"].json()["data"]) == 4
    assert client.post("/v1/images/generations", json={"prompt": "a red circle", "check": 0}).status_code == 200


# --- a client that goes away, the access log, shutdown ---------------------------------------


def test_a_disconnected_client_has_its_drawing_stopped(tmp_path):
    # One worker: 32 images one after another, several seconds however fast the engine is
    # (a fraction of a second each); the client gives up after one.
    n = 32
    s = Server(tmp_path, "--model", str(SHAPES), "--workers", "1", "--queue", str(n), "--max-n", str(n))
    try:
        body = {"prompt": PROMPT, "n": n, "seed": 1}
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(s.url + "/v1/images/generations", json=body, timeout=httpx.Timeout(10, read=1.0))
        gone = time.monotonic()
        wait_until(lambda: s.health()["running"] + s.health()["queued"] == 0, 10)
        stopped_after = time.monotonic() - gone
        health = s.health()
        # Most of the 8 are never drawn (how many were served in the first second depends on
        # how busy the machine is), and what was running stops within steps, not images.
        assert health["cancelled"] >= n // 2 and health["served"] + health["cancelled"] == n, health
        assert stopped_after < 3.0, stopped_after
        wait_until(lambda: any(e["path"] == "/v1/images/generations" for e in s.access_entries()), 5)
        [entry] = [e for e in s.access_entries() if e["path"] == "/v1/images/generations"]
        assert entry["status"] == 499 and entry["cancelled"] is True and entry["seeds"] == list(range(1, n + 1))
        assert {"time", "request_id", "client", "method", "ms", "bytes"} <= set(entry)
        ok = httpx.post(s.url + "/v1/images/generations", json={"prompt": "a red circle", "seed": 2},
                        headers={"X-Request-ID": "abc-1"}, timeout=60)
        assert ok.status_code == 200 and ok.headers["x-request-id"] == "abc-1"
        wait_until(lambda: any(e["request_id"] == "abc-1" for e in s.access_entries()), 5)
        [entry] = [e for e in s.access_entries() if e["request_id"] == "abc-1"]
        assert entry["status"] == 200 and entry["seeds"] == [2] and entry["n"] == 1 and entry["draw_ms"] > 0
    finally:
        s.stop()


def test_shutdown_finishes_what_runs_or_cancels_it_past_the_timeout(tmp_path):
    # A request running when SIGTERM comes is finished...
    s = Server(tmp_path, "--model", str(READER), "--workers", "1")
    answer = {}
    body = {"prompt": "a red circle", "n": 4, "seed": 1, "check": 16}
    t = threading.Thread(target=lambda: answer.update(r=httpx.post(s.url + "/v1/images/generations", json=body,
                                                                   timeout=60)))
    t.start()
    wait_until(lambda: s.health()["running"] == 1, 30)
    s.process.send_signal(signal.SIGTERM)
    t.join()
    assert answer["r"].status_code == 200 and len(answer["r"].json()["data"]) == 4
    s.process.wait(30)
    assert "ponder serve: stopped" in s.log.read_text()
    with pytest.raises(httpx.TransportError):  # and nothing more is taken
        httpx.get(s.url + "/health", timeout=2)

    # ... unless it runs past --shutdown-timeout: then it is cancelled between two tokens.
    (tmp_path / "b").mkdir()
    s = Server(tmp_path / "b", "--model", str(SHAPES), "--workers", "1", "--shutdown-timeout", "0.5",
               "--queue", "32", "--max-n", "32")
    t = threading.Thread(target=lambda: answer.update(r=_post_or_error(s.url, {"prompt": PROMPT, "n": 32})))
    t.start()
    wait_until(lambda: s.health()["running"] == 1, 30)
    start = time.monotonic()
    s.process.send_signal(signal.SIGTERM)
    s.process.wait(30)
    took = time.monotonic() - start
    t.join()
    assert took < 3, took  # 32 images of the default model take several seconds
    assert not isinstance(answer["r"], httpx.Response) or answer["r"].status_code != 200
    entries = [e for e in s.access_entries() if e["path"] == "/v1/images/generations"]
    assert entries and entries[0]["cancelled"] is True


def _post_or_error(url, body):
    try:
        return httpx.post(url + "/v1/images/generations", json=body, timeout=60)
    except httpx.TransportError as e:
        return e


def test_the_server_listens_on_127_0_0_1_unless_told_and_refuses_bad_settings(tmp_path):
    from ponder import serve
    args = serve.arguments([])
    assert args.host == "127.0.0.1"
    with pytest.raises(ValueError, match="max-n 9 is more than workers"):
        Settings(workers=1, queue=0, max_n=9).resolved()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PONDER_")}
    env["PYTHONPATH"] = str(ROOT / "bindings" / "python")
    bad = subprocess.run([sys.executable, "-m", "ponder", "serve", "--model", str(tmp_path / "none.gguf")],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 2 and "none.gguf" in bad.stderr


# --- load ---------------------------------------------------------------------------------

CLIENTS, REQUESTS, WORKERS = 16, 8, 2


def load_figures(server_url: str, model: ponder.Model) -> dict:
    """16 clients × 8 requests against a server of 2 workers, and the same 128 images drawn
    in process by 2 threads; every image is checked against its seed."""
    prompts = ["a red circle to the left of a blue square", "a small green star above a large purple heart",
               "two yellow triangles", "a blue ring in the top right corner on a black background"]
    jobs = [(prompts[i % len(prompts)], 1000 + i) for i in range(CLIENTS * REQUESTS)]

    start = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        expected = list(pool.map(lambda job: model.generate(job[0], seed=job[1], threads=1).png(), jobs))
    in_process = time.monotonic() - start

    latencies, got = [], {}

    def one_client(c):
        with httpx.Client(base_url=server_url, timeout=300) as http:
            for r in range(REQUESTS):
                i = c * REQUESTS + r
                prompt, seed = jobs[i]
                t = time.monotonic()
                answer = http.post("/v1/images/generations", json={"prompt": prompt, "seed": seed})
                latencies.append(time.monotonic() - t)
                assert answer.status_code == 200, answer.text
                got[i] = base64.b64decode(answer.json()["data"][0]["b64_json"])

    start = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(one_client, range(CLIENTS)))
    served = time.monotonic() - start
    wrong = [i for i in range(len(jobs)) if got.get(i) != expected[i]]
    q = statistics.quantiles(latencies, n=20)
    return {"images": len(jobs), "lost": len(jobs) - len(got), "wrong": len(wrong),
            "in_process_per_s": len(jobs) / in_process, "served_per_s": len(jobs) / served,
            "ratio": in_process / served, "p50_s": statistics.median(latencies), "p95_s": q[18]}


def test_load_16_clients_by_8_requests_lose_nothing_and_keep_pace(tmp_path, shapes):
    s = Server(tmp_path, "--model", str(SHAPES), "--workers", str(WORKERS), "--queue", str(CLIENTS),
               "--access-log", "off")
    try:
        figures = load_figures(s.url, shapes)
    finally:
        s.stop()
    print("\nserve load:", json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}))
    assert figures["lost"] == 0 and figures["wrong"] == 0
    # docs/performance.md gives the figures; the target is 0.8. The machine is shared with
    # other work, so the test holds a margin below it.
    assert figures["ratio"] >= 0.6, figures
