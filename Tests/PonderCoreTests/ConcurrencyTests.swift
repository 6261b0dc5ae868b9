import Foundation
import XCTest
@testable import PonderCore

/// One model shared by several threads, each with its own sessions and worker pools, against
/// the same seeds run one by one. Small on purpose: `swift test --sanitize=thread --filter
/// ConcurrencyTests` runs it under ThreadSanitizer (docs/reliability.md).
final class ConcurrencyTests: XCTestCase {
    static let modelPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/ponder-shapes-q8_0.gguf").path

    func draw(_ model: Model, seed: UInt64, threads: Int) throws -> [Int32] {
        var p = SessionParameters()
        p.seed = seed
        p.threads = threads
        let s = try Session(model: model, parameters: p)
        _ = try s.plan(prompt: seed % 2 == 0 ? "a red circle above a blue star" : "two green squares")
        _ = try s.step(24)
        return s.codes
    }

    func testThreadsSharingAModelMatchSequentialRuns() throws {
        let model = try Model(path: ConcurrencyTests.modelPath)
        let seeds: [UInt64] = Array(1...8)
        let expected = try seeds.map { try draw(model, seed: $0, threads: 1) }
        let lock = NSLock()
        var results = [UInt64: [Int32]](), failures = [String]()
        DispatchQueue.concurrentPerform(iterations: 4) { part in
            for seed in seeds where Int(seed) % 4 == part {
                do {
                    let codes = try draw(model, seed: seed, threads: 2)
                    lock.lock(); results[seed] = codes; lock.unlock()
                } catch {
                    lock.lock(); failures.append("\(error)"); lock.unlock()
                }
            }
        }
        XCTAssertEqual(failures, [])
        for (seed, codes) in zip(seeds, expected) { XCTAssertEqual(results[seed], codes, "seed \(seed)") }
    }
}
