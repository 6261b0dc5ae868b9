#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of worker threads, made once per session, that run one job at a time split
/// into `count` parts. The calling thread runs part 0 itself, so a pool of one thread has no
/// workers and no synchronisation at all.
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
            let context = Unmanaged.passRetained(WorkerContext(state: shared, part: part)).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                context.state.workerLoop(part: context.part)
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

    /// Runs `body(part)` for every part in 0..<count and returns when all have finished.
    func run(_ body: (Int) -> Void) {
        if threads.isEmpty {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { escapable in
            shared.start(escapable, workers: threads.count)
            escapable(0)
            shared.wait()
        }
    }

    /// Splits 0..<n into `count` contiguous ranges and runs `body` on each.
    func parallelFor(_ n: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(count, n)
        if parts <= 1 {
            if n > 0 { body(0..<n) }
            return
        }
        run { part in
            guard part < parts else { return }
            body((n * part / parts)..<(n * (part + 1) / parts))
        }
    }
}

private final class PoolState: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var generation = 0
    private var unfinished = 0
    private var stopping = false
    private var job: ((Int) -> Void)?

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(wake)
        pthread_cond_destroy(done)
        mutex.deallocate()
        wake.deallocate()
        done.deallocate()
    }

    func start(_ body: @escaping (Int) -> Void, workers: Int) {
        pthread_mutex_lock(mutex)
        job = body
        unfinished = workers
        generation &+= 1
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    func wait() {
        pthread_mutex_lock(mutex)
        while unfinished > 0 { pthread_cond_wait(done, mutex) }
        job = nil
        pthread_mutex_unlock(mutex)
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    func workerLoop(part: Int) {
        var seen = 0
        pthread_mutex_lock(mutex)
        while true {
            while generation == seen && !stopping { pthread_cond_wait(wake, mutex) }
            if stopping { break }
            seen = generation
            let body = job
            pthread_mutex_unlock(mutex)
            body?(part)
            pthread_mutex_lock(mutex)
            unfinished -= 1
            if unfinished == 0 { pthread_cond_signal(done) }
        }
        pthread_mutex_unlock(mutex)
    }
}

private final class WorkerContext {
    let state: PoolState
    let part: Int
    init(state: PoolState, part: Int) { self.state = state; self.part = part }
}
