import CPonderKernels
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

/// The handoff between the caller and the workers. A token of a small model is dozens of
/// jobs of tens of microseconds each, so waking sleeping threads through a condition variable
/// for every job would cost more than the job: both sides first spin on atomic counters for
/// a little (`spin` pauses: longer spins cost far more than they save when the machine has
/// fewer free cores than threads). A worker then yields its core `yields` times before it
/// sleeps, which bridges the caller's serial stretches (sampling a token, the host's own code
/// between calls) without starving other threads (docs/performance.md, "Choices in the
/// kernels and the thread pool"). Only then do they sleep on the condition variables.
/// Lost wakeups are ruled out Dekker-style: a side that sleeps first announces it (sleepers,
/// callerSleeping) and then re-checks the counter; the other side changes the counter first
/// and then reads the announcement, all sequentially consistent.
private final class PoolState: @unchecked Sendable {
    private static let spin = 256
    private static let yields = 64
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// [generation, unfinished, sleepers, callerSleeping, stopping], each accessed atomically.
    private let counters = UnsafeMutablePointer<Int64>.allocate(capacity: 5)
    private var generation: UnsafeMutablePointer<Int64> { counters }
    private var unfinished: UnsafeMutablePointer<Int64> { counters + 1 }
    private var sleepers: UnsafeMutablePointer<Int64> { counters + 2 }
    private var callerSleeping: UnsafeMutablePointer<Int64> { counters + 3 }
    private var stopping: UnsafeMutablePointer<Int64> { counters + 4 }
    /// Written by the caller before it publishes a new generation, read by workers after.
    private var job: ((Int) -> Void)?

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(done, nil)
        counters.initialize(repeating: 0, count: 5)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        pthread_cond_destroy(wake)
        pthread_cond_destroy(done)
        mutex.deallocate()
        wake.deallocate()
        done.deallocate()
        counters.deallocate()
    }

    func start(_ body: @escaping (Int) -> Void, workers: Int) {
        job = body
        pk_atomic_store(unfinished, Int64(workers))
        _ = pk_atomic_add(generation, 1)
        if pk_atomic_load(sleepers) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
        }
    }

    func wait() {
        var spins = 0
        while pk_atomic_load(unfinished) > 0 && spins < PoolState.spin {
            pk_spin_pause()
            spins += 1
        }
        if pk_atomic_load(unfinished) > 0 {
            pthread_mutex_lock(mutex)
            pk_atomic_store(callerSleeping, 1)
            while pk_atomic_load(unfinished) > 0 { pthread_cond_wait(done, mutex) }
            pk_atomic_store(callerSleeping, 0)
            pthread_mutex_unlock(mutex)
        }
        job = nil
    }

    func stop() {
        pthread_mutex_lock(mutex)
        pk_atomic_store(stopping, 1)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(mutex)
    }

    /// Runs the current job. A function of its own so that the worker's reference to the
    /// closure is gone when it returns, before `unfinished` tells the caller it may end the
    /// closure's borrowed life (withoutActuallyEscaping checks that nothing kept it).
    @inline(never)
    private func runJob(_ part: Int) {
        job?(part)
    }

    func workerLoop(part: Int) {
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
            runJob(part)
            if pk_atomic_add(unfinished, -1) == 0 && pk_atomic_load(callerSleeping) != 0 {
                pthread_mutex_lock(mutex)
                pthread_cond_signal(done)
                pthread_mutex_unlock(mutex)
            }
        }
    }
}

private final class WorkerContext {
    let state: PoolState
    let part: Int
    init(state: PoolState, part: Int) { self.state = state; self.part = part }
}
