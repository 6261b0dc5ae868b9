import CPonderKernels
#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of worker threads, made once per session, that help the calling thread
/// through one job at a time. A job is a range of items cut into chunks that whoever is free
/// claims, one at a time: the caller works through them itself and never waits for a worker
/// that has not started, so a busy machine (a virtual machine's other core taken by the host
/// or another process) makes a job no slower than on one thread, only less often faster.
/// A pool of one thread has no workers and no synchronisation at all.
final class ThreadPool: @unchecked Sendable {
    let count: Int
    private var threads: [pthread_t] = []
    /// What the workers share with the caller; the workers hold it, not the pool, so the
    /// pool's deinit can stop and join them.
    private let shared = PoolState()

    /// Throws when the system refuses to start a thread.
    init(size: Int) throws {
        count = max(1, size)
        for part in 1..<count {
            let context = Unmanaged.passRetained(WorkerContext(state: shared)).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.state.workerLoop()
                return nil
            }, context)
            guard rc == 0 else {
                Unmanaged<WorkerContext>.fromOpaque(context).release()
                shutDown()
                throw PonderError(.outOfMemory, "cannot start worker thread \(part): error \(rc)")
            }
            threads.append(thread)
        }
    }

    deinit { shutDown() }

    private func shutDown() {
        shared.stop()
        for t in threads { pthread_join(t, nil) }
        threads = []
    }

    /// The least work, in multiply-adds, worth a chunk of its own (about 15 µs on one core,
    /// which does some 3 · 10⁴ int8 multiply-adds per microsecond on the default model's
    /// matrices). A handoff costs a microsecond or two when the worker is spinning, far more
    /// when it must be woken or its core is taken; so a job of less than two chunks runs on
    /// the calling thread alone: every matrix of the default model's one-sequence steps does, and
    /// the worker sleeps, leaving its core to another session. The figure
    /// and its measurement are in docs/performance.md ("Which work is split across threads").
    static let grain = 1 << 19

    /// Most chunks per thread in a job: enough that a worker arriving late still finds some,
    /// few enough that claiming them costs nothing measurable.
    static let chunksPerThread = 4

    /// How many chunks `work` multiply-adds over `n` independent items are cut into.
    func chunks(_ n: Int, work: Int) -> Int {
        guard count > 1 else { return 1 }
        return max(1, min(n, count * ThreadPool.chunksPerThread, work / ThreadPool.grain))
    }

    /// Cuts 0..<n into contiguous ranges, as many as `chunks(n, work:)` says, and runs `body`
    /// on each, on this thread and on whichever workers are free; returns when all have run.
    /// Which thread runs a range never changes a result: callers compute each item the same
    /// way whichever range it falls in.
    func parallelFor(_ n: Int, work: Int, _ body: (Range<Int>) -> Void) {
        let chunks = self.chunks(n, work: work)
        if chunks <= 1 || shared.alone() {
            if n > 0 { body(0..<n) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            shared.run(chunks: chunks) { chunk in escapable((n * chunk / chunks)..<(n * (chunk + 1) / chunks)) }
        }
    }
}

/// The handoff between the caller and the workers.
///
/// A job is published by bumping `generation`. Workers wait for that: first spinning on it
/// (`spin` pauses: longer spins cost far more than they save when the machine has fewer free
/// cores than threads), then yielding their core `yields` times, which bridges the caller's
/// serial stretches (sampling a token, the host's own code between calls) without starving
/// other threads, and only then sleeping on a condition variable (docs/performance.md,
/// "Choices in the kernels and the thread pool").
///
/// `entry` says who is inside the current job: the job's generation (high bits), whether the
/// caller has closed it (bit 31) and how many workers are inside (low bits). A worker enters
/// only by a compare-and-swap that sees its generation open, so once the caller has closed the
/// job and seen no worker inside, none can touch the job's closure again; a worker that wakes
/// late finds the job closed and goes back to waiting. Chunks are claimed from `next`.
/// Lost wakeups are ruled out Dekker-style: a worker that sleeps first announces it
/// (sleepers) and then re-checks the generation; the caller changes the generation first and
/// then reads the announcement, all sequentially consistent.
private final class PoolState: @unchecked Sendable {
    private static let spin = 256
    private static let yields = 64
    private static let closed: Int64 = 1 << 31
    private static let inside: Int64 = (1 << 31) - 1
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// [generation, entry, next, sleepers, stopping], each accessed atomically.
    private let counters = UnsafeMutablePointer<Int64>.allocate(capacity: 5)
    private var generation: UnsafeMutablePointer<Int64> { counters }
    private var entry: UnsafeMutablePointer<Int64> { counters + 1 }
    private var next: UnsafeMutablePointer<Int64> { counters + 2 }
    private var sleepers: UnsafeMutablePointer<Int64> { counters + 3 }
    private var stopping: UnsafeMutablePointer<Int64> { counters + 4 }
    /// Written by the caller before it publishes a new generation, read by workers that
    /// entered it.
    private var job: ((Int) -> Void)?
    private var jobChunks: Int64 = 0

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        counters.initialize(repeating: 0, count: 5)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(wake)
        mutex.deallocate()
        wake.deallocate()
        counters.deallocate()
    }

    /// The `entry` word of generation `g`, open, with nobody inside.
    private static func opened(_ g: Int64) -> Int64 { (g & 0xFFFF_FFFF) << 32 }

    /// Runs `body(chunk)` for every chunk in 0..<chunks, here and on whichever workers join.
    func run(chunks: Int, _ body: @escaping (Int) -> Void) {
        job = body
        jobChunks = Int64(chunks)
        pk_atomic_store(next, 0)
        let g = pk_atomic_load(generation) + 1
        pk_atomic_store(entry, PoolState.opened(g))
        pk_atomic_store(generation, g)
        if pk_atomic_load(sleepers) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
        }
        claimChunks()
        // Close the job, then wait for the workers inside (each is running a claimed chunk).
        var e = pk_atomic_load(entry)
        while pk_atomic_cas(entry, e, e | PoolState.closed) == 0 { e = pk_atomic_load(entry) }
        var spins = 0
        var waitStart: UInt64 = 0
        var stalled = false
        while pk_atomic_load(entry) & PoolState.inside != 0 {
            if spins < PoolState.spin {
                pk_spin_pause()
                spins += 1
            } else {
                // A chunk takes microseconds; a wait of a millisecond is a worker off its core.
                if waitStart == 0 { waitStart = PoolState.now() }
                if !stalled && PoolState.now() - waitStart > PoolState.stall { stalled = true }
                sched_yield()
            }
        }
        job = nil
        if stalled { backOff() } else if backoff > PoolState.firstBackoff { backoff /= 2 }
    }

    /// A worker that claimed a chunk and then lost its core (another process wanted it) keeps
    /// the caller waiting until it runs again, for up to a scheduler time slice: far longer
    /// than the job. When that happens the caller works alone for a while (8 ms, doubling with
    /// each stall in a row up to 256 ms, halving with each job that does not stall), so a
    /// machine whose other cores are busy gets one-thread speed instead of stalls.
    private static let stall: UInt64 = 1_000_000
    private static let firstBackoff: UInt64 = 8_000_000
    private static let lastBackoff: UInt64 = 256_000_000
    private var backoff = PoolState.firstBackoff
    private var aloneUntil: UInt64 = 0

    private static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    private func backOff() {
        aloneUntil = PoolState.now() + backoff
        backoff = min(backoff * 2, PoolState.lastBackoff)
    }

    /// Whether the caller should run the next job alone (see backOff).
    func alone() -> Bool {
        aloneUntil != 0 && PoolState.now() < aloneUntil
    }

    private func claimChunks() {
        while true {
            let chunk = pk_atomic_add(next, 1) - 1
            if chunk >= jobChunks { return }
            runJob(Int(chunk))
        }
    }

    func stop() {
        pthread_mutex_lock(mutex)
        pk_atomic_store(stopping, 1)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// Runs one chunk of the current job. A function of its own so that the worker's reference
    /// to the closure is gone when it returns, before leaving the job tells the caller it may
    /// end the closure's borrowed life (withoutActuallyEscaping checks that nothing kept it).
    @inline(never)
    private func runJob(_ chunk: Int) {
        job?(chunk)
    }

    /// Enters generation `g`'s job if it is still open.
    private func enter(_ g: Int64) -> Bool {
        while true {
            let e = pk_atomic_load(entry)
            guard e & ~(PoolState.closed | PoolState.inside) == PoolState.opened(g), e & PoolState.closed == 0 else { return false }
            if pk_atomic_cas(entry, e, e + 1) != 0 { return true }
        }
    }

    func workerLoop() {
        var seen: Int64 = 0
        while true {
            var spins = 0
            while pk_atomic_load(generation) == seen && pk_atomic_load(stopping) == 0 && spins < PoolState.spin {
                pk_spin_pause()
                spins += 1
            }
            var yields = 0
            while pk_atomic_load(generation) == seen && pk_atomic_load(stopping) == 0 && yields < PoolState.yields {
                sched_yield()
                yields += 1
            }
            if pk_atomic_load(generation) == seen && pk_atomic_load(stopping) == 0 {
                pthread_mutex_lock(mutex)
                _ = pk_atomic_add(sleepers, 1)
                while pk_atomic_load(generation) == seen && pk_atomic_load(stopping) == 0 { pthread_cond_wait(wake, mutex) }
                _ = pk_atomic_add(sleepers, -1)
                pthread_mutex_unlock(mutex)
            }
            if pk_atomic_load(stopping) != 0 { break }
            seen = pk_atomic_load(generation)
            if enter(seen) {
                claimChunks()
                _ = pk_atomic_add(entry, -1)
            }
        }
    }
}

private final class WorkerContext {
    let state: PoolState
    init(state: PoolState) { self.state = state }
}
