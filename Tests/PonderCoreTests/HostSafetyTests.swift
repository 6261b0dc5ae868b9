import Foundation
import XCTest
@testable import PonderCore

/// Inputs from outside that must not take the host down or lose its data: a model file's
/// values checked like a caller's, a model file rewritten while loaded, a session entered by
/// two threads, files written whole or not at all, drawing stopped and resumed, previews.
final class HostSafetyTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus/model")
    static let tiny = corpus.appendingPathComponent("tiny-random.gguf").path

    func error(_ body: () throws -> Void) -> PonderError? {
        do { try body() } catch let e as PonderError { return e } catch { XCTFail("\(error)") }
        return nil
    }

    func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ponder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func draw(_ model: Model, seed: UInt64 = 1) throws -> [Int32] {
        var p = SessionParameters()
        p.seed = seed
        let s = try Session(model: model, parameters: p)
        try s.plan(prompt: "a red circle above a blue star")
        try s.step(1000)
        return s.codes
    }

    // MARK: Model files

    /// The tiny model with the value of metadata `key` (its type `type`, 4 bytes) replaced.
    func patched(_ key: String, type: UInt32, value: [UInt8]) throws -> [UInt8] {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.tiny)))
        let needle = Array(key.utf8)
        let at = try XCTUnwrap((0...(bytes.count - needle.count)).first { bytes[$0..<($0 + needle.count)].elementsEqual(needle) })
        let typeAt = at + needle.count
        XCTAssertEqual(bytes[typeAt..<(typeAt + 4)].elementsEqual(withUnsafeBytes(of: type.littleEndian, Array.init)), true)
        bytes.replaceSubrange((typeAt + 4)..<(typeAt + 8), with: value)
        return bytes
    }

    func load(_ bytes: [UInt8]) throws -> Model {
        try bytes.withUnsafeBytes { try Model(file: GGUFFile(bytes: $0)) }
    }

    func testAFileGuidanceScaleIsCheckedAsACallersIs() throws {
        func scale(_ v: Float) throws -> [UInt8] {
            try patched("ponder.sampling.cfg_scale", type: 6, value: withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init))
        }
        XCTAssertEqual(try load(try scale(2.5)).hyperParameters.defaultCFGScale, 2.5)
        for bad: Float in [-3, 1000, .infinity] {
            let e = error { _ = try self.load(try scale(bad)) }
            XCTAssertEqual(e?.kind, .badModel, "\(bad)")
            XCTAssertTrue(e?.message.contains("cfg_scale") ?? false, e?.message ?? "")
            // The same words as for a caller's scale: one check (an infinity is refused before
            // it, as every number in the file must be finite).
            if bad.isFinite {
                XCTAssertTrue(e?.message.hasSuffix(SessionParameters.cfgScaleProblem(bad)!) ?? false, e?.message ?? "")
            }
            var p = SessionParameters()
            p.cfgScale = bad
            XCTAssertEqual(error { _ = try Session(model: try self.load(try scale(1)), parameters: p) }?.kind, .invalidArgument)
        }
    }

    func testTheWorldVersionIsChecked() throws {
        let two = try patched("ponder.world.version", type: 4, value: [2, 0, 0, 0])
        let e = error { _ = try self.load(two) }
        XCTAssertEqual(e?.kind, .badModel)
        XCTAssertTrue(e?.message.contains("world version 2") ?? false, e?.message ?? "")
        XCTAssertNoThrow(try load(try patched("ponder.world.version", type: 4, value: [1, 0, 0, 0])))
    }

    func testAModelFileRewrittenWhileLoadedChangesNothing() throws {
        let dir = try scratch()
        let path = dir.appendingPathComponent("model.gguf").path
        let original = try Data(contentsOf: URL(fileURLWithPath: Self.tiny))
        try original.write(to: URL(fileURLWithPath: path))
        let model = try Model(path: path)
        let before = try draw(model)
        // In place, as `cp other.gguf model.gguf` does: the same inode, truncated, then other
        // bytes. From a mapped file the weights would change under the model, and a read past
        // the new end would raise SIGBUS.
        let other = try Data(contentsOf: HostSafetyTests.corpus.appendingPathComponent("tiny-random-encoder.gguf"))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: other.prefix(original.count / 3))
        try handle.close()
        XCTAssertEqual(try draw(model), before)
        XCTAssertEqual(truncate(path, 64), 0)
        XCTAssertEqual(try draw(model), before)
        try FileManager.default.removeItem(atPath: path)
        XCTAssertEqual(try draw(model), before)
    }

    func testAFifoIsRefusedAtOnceNotWaitedOn() throws {
        let path = try scratch().appendingPathComponent("fifo").path
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let e = error { _ = try GGUFFile(path: path) }  // with no writer, a blocking open never returns
        XCTAssertEqual(e?.kind, .io)
        XCTAssertTrue(e?.message.contains("not a regular file") ?? false, e?.message ?? "")
    }

    // MARK: One call at a time

    func testUseFlagRefusesAnotherThreadAndSeesReentry() throws {
        let flag = UseFlag()
        guard case .entered = flag.enter() else { return XCTFail("a free flag is entered") }
        guard case .reentered = flag.enter() else { return XCTFail("the holder re-entering is seen") }
        XCTAssertFalse(flag.heldByAnotherThread)
        let (other, otherSees) = onAnotherThread { (flag.enter(), flag.heldByAnotherThread) }
        guard case .busy = other else { return XCTFail("another thread is refused") }
        XCTAssertTrue(otherSees)
        flag.leave()
        let after = onAnotherThread { () -> UseFlag.Entry in
            defer { flag.leave() }
            return flag.enter()
        }
        guard case .entered = after else { return XCTFail("a flag left is free for another thread") }
    }

    /// Runs `body` on a new thread and waits for its result.
    func onAnotherThread<T>(_ body: @escaping @Sendable () -> T) -> T {
        let result = ThreadResult<T>(), done = DispatchSemaphore(value: 0)
        Thread { result.value = body(); done.signal() }.start()
        done.wait()
        return result.value!
    }

    // MARK: Drawing stopped and resumed

    func testDrawStopsWhenAskedAndResumesToTheSameImage() throws {
        let model = try Model(path: Self.tiny)
        let whole = try draw(model)
        var p = SessionParameters()
        p.seed = 1
        p.draftTokens = 3  // speculative drawing, whatever this processor's default
        let s = try Session(model: model, parameters: p)
        XCTAssertEqual(error { try s.draw() }?.kind, .wrongState)
        try s.plan(prompt: "a red circle above a blue star")
        var calls: [Int] = []
        XCTAssertFalse(try s.draw { done, total in
            XCTAssertEqual(total, 256)
            calls.append(done)
            return done < 100
        })
        // One call a pass: the token drawn, 3 drafts and the token after them.
        XCTAssertEqual(p.draftTokens, 3)
        XCTAssertEqual(calls, Array(stride(from: 5, through: 100, by: 5)))
        XCTAssertEqual(s.codes.count, 100)
        XCTAssertTrue(try s.draw { done, total in done < total })  // false after the last token changes nothing
        XCTAssertEqual(s.codes, whole)
        XCTAssertTrue(try s.draw { _, _ in XCTFail("a complete image makes no calls"); return true })

        // Without drafts, a call after every token.
        p.draftTokens = 0
        let plain = try Session(model: model, parameters: p)
        try plain.plan(prompt: "a red circle above a blue star")
        calls = []
        XCTAssertFalse(try plain.draw { done, _ in calls.append(done); return done < 7 })
        XCTAssertEqual(calls, Array(1...7))
        XCTAssertTrue(try plain.draw())
        XCTAssertEqual(plain.codes, whole)
    }

    // MARK: Files whole or not at all

    func testAFailedWriteLeavesTheOldFile() throws {
        let dir = try scratch()
        let path = dir.appendingPathComponent("out.png").path
        let old = [UInt8](repeating: 7, count: 1000)
        try AtomicFile.write(old, to: path)
        chmod(path, 0o640)
        // A file size limit makes the write fail part way (EFBIG; the signal is ignored, as
        // Python and most servers do), as a full disk or a quota would.
        let previous = signal(SIGXFSZ, SIG_IGN)
        var saved = rlimit()
        getrlimit(RLIMIT_FSIZE_VALUE, &saved)
        var limit = saved
        limit.rlim_cur = 512
        XCTAssertEqual(setrlimit(RLIMIT_FSIZE_VALUE, &limit), 0)
        let e = error { try AtomicFile.write([UInt8](repeating: 9, count: 4000), to: path) }
        setrlimit(RLIMIT_FSIZE_VALUE, &saved)
        signal(SIGXFSZ, previous)
        XCTAssertEqual(e?.kind, .io)
        XCTAssertTrue(e?.message.contains("unchanged") ?? false, e?.message ?? "")
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), old)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.png"])  // nothing left over

        // A write that succeeds replaces the file and keeps its permissions.
        try AtomicFile.write([1, 2, 3], to: path)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), [1, 2, 3])
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o640)
    }

    func testWritesThroughLinksIntoDevicesAndNotOverDirectories() throws {
        let dir = try scratch()
        let target = dir.appendingPathComponent("real.png").path, link = dir.appendingPathComponent("link.png").path
        try AtomicFile.write([1], to: target)
        XCTAssertEqual(symlink(target, link), 0)
        try AtomicFile.write([2, 2], to: link)
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: target))), [2, 2])
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)  // still a link
        try AtomicFile.write([3], to: "/dev/null")  // not replaceable: written in place
        XCTAssertEqual(error { try AtomicFile.write([1], to: dir.path) }?.kind, .io)
        XCTAssertEqual(error { try AtomicFile.write([1], to: dir.appendingPathComponent("no/such.png").path) }?.kind, .io)
        XCTAssertEqual(error { try AtomicFile.write([1], to: "") }?.kind, .io)
    }
}

private final class ThreadResult<T>: @unchecked Sendable { var value: T? }

/// RLIMIT_FSIZE as setrlimit takes it (Glibc imports the constant as an enum case).
private let RLIMIT_FSIZE_VALUE = __rlimit_resource_t(RLIMIT_FSIZE.rawValue)
