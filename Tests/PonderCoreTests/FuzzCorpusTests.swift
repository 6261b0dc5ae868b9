import XCTest

/// Replays every committed fuzz input (the seed corpus and each crash's reproducer under
/// Tests/Fuzz) through the same code the fuzzer ran, so no fuzzer is needed to keep them
/// fixed. A regression traps or fails here.
final class FuzzCorpusTests: XCTestCase {
    func testEveryCommittedInputIsHandled() throws {
        let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz")
        var replayed = 0
        for target in FuzzTargets.names {
            for folder in ["corpus/\(target)", "crashes/\(target)"] {
                let dir = fuzz.appendingPathComponent(folder)
                let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
                for name in files.sorted() where !name.hasPrefix(".") {
                    let data = try Data(contentsOf: dir.appendingPathComponent(name))
                    data.withUnsafeBytes { FuzzTargets.run(target, $0) }
                    replayed += 1
                }
            }
        }
        XCTAssertGreaterThan(replayed, 0, "no committed fuzz inputs under \(fuzz.path)")
    }
}
