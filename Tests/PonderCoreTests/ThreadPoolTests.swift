import Foundation
import XCTest
import CPonderKernels
@testable import PonderCore

/// The worker pool: every item of a job runs exactly once whoever claims it, small jobs stay
/// on the calling thread, and a long run of jobs (workers spinning, yielding, sleeping and
/// waking late) never loses or repeats a chunk. `swift test --sanitize=thread --filter
/// ThreadPoolTests` runs it under ThreadSanitizer.
final class ThreadPoolTests: XCTestCase {
    /// Counts how often each of 0..<n ran in one parallelFor.
    func counts(_ pool: ThreadPool, _ n: Int, work: Int) -> [Int] {
        let hits = UnsafeMutablePointer<Int64>.allocate(capacity: max(n, 1))
        hits.initialize(repeating: 0, count: max(n, 1))
        defer { hits.deallocate() }
        pool.parallelFor(n, work: work) { range in
            for i in range { _ = pk_atomic_add(hits + i, 1) }
        }
        return (0..<n).map { Int(hits[$0]) }
    }

    func testEveryItemRunsOnceForEveryPoolSizeAndJobSize() throws {
        for size in [1, 2, 3, 8] {
            let pool = try ThreadPool(size: size)
            for n in [0, 1, 2, 7, 16, 100, 1000] {
                for work in [0, ThreadPool.grain - 1, 2 * ThreadPool.grain, 1 << 30] {
                    XCTAssertEqual(counts(pool, n, work: work), Array(repeating: 1, count: n),
                                   "pool \(size), \(n) items, work \(work)")
                }
            }
        }
    }

    func testSmallJobsStayOnTheCallingThread() throws {
        let pool = try ThreadPool(size: 4)
        XCTAssertEqual(pool.chunks(1000, work: ThreadPool.grain), 1)
        XCTAssertEqual(pool.chunks(1000, work: 2 * ThreadPool.grain - 1), 1)
        XCTAssertEqual(pool.chunks(1000, work: 2 * ThreadPool.grain), 2)
        XCTAssertEqual(pool.chunks(3, work: 1 << 30), 3, "never more chunks than items")
        XCTAssertEqual(pool.chunks(1000, work: 1 << 30), 4 * ThreadPool.chunksPerThread)
        XCTAssertEqual(try ThreadPool(size: 1).chunks(1000, work: 1 << 30), 1)

        let caller = pthread_self()
        var others = 0
        pool.parallelFor(64, work: ThreadPool.grain) { _ in
            if pthread_equal(pthread_self(), caller) == 0 { others += 1 }
        }
        XCTAssertEqual(others, 0)
    }

    func testManyJobsInARowWithPausesBetweenThem() throws {
        let pool = try ThreadPool(size: 3)
        var wrong = 0
        for job in 0..<3000 {
            let n = 1 + job % 97
            if counts(pool, n, work: 1 << 30) != Array(repeating: 1, count: n) { wrong += 1 }
            // Now and then long enough for the workers to go to sleep, so the next job wakes them.
            if job % 500 == 0 { usleep(20_000) }
        }
        XCTAssertEqual(wrong, 0)
    }

    /// A planned session of `threads` threads.
    func planned(_ model: Model, _ prompt: String, seed: UInt64, threads: Int) throws -> Session {
        var p = SessionParameters()
        p.seed = seed
        p.threads = threads
        let s = try Session(model: model, parameters: p)
        _ = try s.plan(prompt: prompt)
        return s
    }

    /// The VQ decoder's convolutions are split across threads too: the pixels, checked
    /// drawing's redraws included, must not depend on how.
    func testAnyThreadCountDecodesTheSamePixels() throws {
        func pixels(_ threads: Int) throws -> [UInt8] {
            let s = try planned(SessionTests.model, "a red circle to the left of a blue ring", seed: 0, threads: threads)
            try s.draw()
            return try s.decode()
        }
        let one = try pixels(1)
        for threads in [2, 3, 8] { XCTAssertEqual(try pixels(threads), one, "\(threads) threads") }
    }

    func testAnyThreadCountDrawsTheSameTokens() throws {
        let model = try Model(path: ConcurrencyTests.modelPath)
        func codes(_ threads: Int) throws -> [Int32] {
            let s = try planned(model, "a large red circle below a small blue star", seed: 5, threads: threads)
            _ = try s.step(48)
            return s.codes
        }
        let one = try codes(1)
        XCTAssertEqual(one.count, 48)
        for threads in [2, 3, 5] { XCTAssertEqual(try codes(threads), one, "\(threads) threads") }
    }
}
