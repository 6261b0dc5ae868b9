import Foundation
import XCTest
@testable import PonderCore

/// The Swift API the C API is built on: a session's drawing, and the transformer and its
/// key/value cache underneath, on the committed random-weight model (Tests/Models/make.py).
final class SessionTests: XCTestCase {
    static let model = try! Model(path: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Models/test-reader.gguf").path)
    static let prompt = "a red circle to the left of a blue square"

    func session(seed: UInt64 = 1, threads: Int = 1, cfg: Float? = nil, check: Int = 0) throws -> Session {
        var p = SessionParameters()
        p.seed = seed
        p.threads = threads
        p.cfgScale = cfg
        p.checkAttempts = check
        p.draftTokens = 3  // speculative drawing on every processor (the default is 0 without AVX-512 VNNI)
        return try Session(model: SessionTests.model, parameters: p)
    }

    func drawn(seed: UInt64, threads: Int = 1, cfg: Float? = nil) throws -> Session {
        let s = try session(seed: seed, threads: threads, cfg: cfg)
        try s.plan(prompt: SessionTests.prompt)
        XCTAssertTrue(try s.draw())
        return s
    }

    func testTheSameSeedDrawsTheSameImageOnAnyThreadCount() throws {
        for cfg: Float in [1, 3] {
            let one = try drawn(seed: 5, threads: 1, cfg: cfg)
            let two = try drawn(seed: 5, threads: 2, cfg: cfg)
            XCTAssertEqual(one.codes.count, one.totalTokens)
            XCTAssertEqual(one.codes, two.codes, "cfg \(cfg)")
            XCTAssertEqual(one.plan, two.plan)
            XCTAssertEqual(try one.decode(), try two.decode())
            XCTAssertNotEqual(one.codes, try drawn(seed: 6, cfg: cfg).codes, "another seed, another image")
        }
    }

    func testAStoppedDrawingGoesOnAsIfItHadNeverStopped() throws {
        let whole = try drawn(seed: 9, cfg: 2)
        let s = try session(seed: 9, cfg: 2)
        try s.plan(prompt: SessionTests.prompt)
        var calls = 0
        XCTAssertFalse(try s.draw { done, total in
            calls += 1
            XCTAssertEqual(total, s.totalTokens)
            return done < 10
        })
        XCTAssertEqual(calls, 2, "one call a pass of 5 tokens (3 drafts)")
        XCTAssertEqual(s.codes, Array(whole.codes.prefix(10)))
        let r = try s.step(5)
        XCTAssertEqual(r.done, 15)
        XCTAssertEqual(r.remaining, s.totalTokens - 15)
        XCTAssertTrue(try s.draw())
        XCTAssertEqual(s.codes, whole.codes)
    }

    func testAPlanSetByTheCallerIsDrawnFrom() throws {
        let s = try session(seed: 3)
        XCTAssertEqual(error { try s.setPlan("background white\nsmall red circle at 10 10") }?.kind, .wrongState)
        try s.plan(prompt: SessionTests.prompt)
        try s.setPlan("background black\nsmall red circle at 10 10")
        XCTAssertEqual(s.plan?.background, s.background)
        XCTAssertTrue(s.codes.isEmpty, "a new plan starts the image anew")
        XCTAssertEqual(error { try s.setPlan("background white\nsmall red circel at 10 10") }?.kind, .badPlan)
    }

    func testDecodeRefusesWhatItCannotDo() throws {
        let s = try session()
        XCTAssertEqual(error { _ = try s.decode() }?.kind, .wrongState)
        XCTAssertEqual(error { try s.step(1) }?.kind, .wrongState)
        try s.plan(prompt: SessionTests.prompt)
        XCTAssertEqual(error { try s.step(-1) }?.kind, .invalidArgument)
        try s.step(1)
        var small = [UInt8](repeating: 0, count: s.imageByteCount - 1)
        XCTAssertEqual(error { try small.withUnsafeMutableBytes { try s.decode(into: $0) } }?.kind, .bufferTooSmall)
        // Cells not drawn yet are the neutral grey.
        let rgb = try s.decode()
        XCTAssertEqual(rgb[rgb.count - 1], Session.pendingFill)
    }

    /// What a preview shows (docs/format.md, "Previews"): the codes so far, the undrawn cells
    /// decoded with `fill`'s codes, the background laid in, then the undrawn cells grey.
    func preview(_ s: Session, fill: [Int32]) throws -> [UInt8] {
        let hp = SessionTests.model.hyperParameters
        let grid = s.codes + fill[s.codes.count...]
        var rgb = [UInt8](repeating: 0, count: s.imageByteCount)
        try rgb.withUnsafeMutableBufferPointer { out in
            try SessionTests.model.decoder.decode(codes: Array(grid), into: out.baseAddress!)
            Background.move(out.baseAddress!, pixels: hp.imageWidth * hp.imageHeight, from: 0, to: s.background)
        }
        let cellW = hp.imageWidth / hp.gridWidth, cellH = hp.imageHeight / hp.gridHeight
        for cell in s.codes.count..<hp.imageTokens {
            for y in 0..<cellH {
                let row = ((cell / hp.gridWidth * cellH + y) * hp.imageWidth + cell % hp.gridWidth * cellW) * 3
                for i in row..<(row + cellW * 3) { rgb[i] = Session.pendingFill }
            }
        }
        return rgb
    }

    func testPreviewsDecodeTheUndrawnCellsAsThePlanShowsThem() throws {
        let hp = SessionTests.model.hyperParameters
        let s = try session(seed: 2)
        try s.plan(prompt: SessionTests.prompt)
        // Each plan's render on white, encoded; a new plan is rendered anew.
        for text in ["background gray\nlarge red circle at 40 40\nsmall blue square at 100 100",
                     "background white\nmedium green star at 64 90"] {
            try s.setPlan(text)
            let rgb = Renderer.render(try Plan(text: text), width: hp.imageWidth, height: hp.imageHeight, onWhite: true)
            let planned = try rgb.withUnsafeBufferPointer { try SessionTests.model.encoder!.encode(rgb: $0.baseAddress!) }
            for n in [1, hp.gridWidth + 3, hp.imageTokens / 2] {
                try s.step(n - s.codes.count)
                XCTAssertEqual(try s.decode(), try preview(s, fill: planned), "\(text), \(n) codes")
            }
        }
        // Without a plan: copies of the cell above (in the first row, of the last cell drawn).
        var p = SessionParameters()
        p.think = false
        let t = try Session(model: SessionTests.model, parameters: p)
        try t.plan(prompt: SessionTests.prompt)
        XCTAssertNil(t.plan)
        for n in [1, hp.gridWidth + 3, hp.imageTokens / 2] {
            try t.step(n - t.codes.count)
            var fill = t.codes
            for cell in n..<hp.imageTokens { fill.append(cell >= hp.gridWidth ? fill[cell - hp.gridWidth] : t.codes[n - 1]) }
            XCTAssertEqual(try t.decode(), try preview(t, fill: fill), "\(n) codes")
        }
        // A full image is its codes alone.
        try t.step(hp.imageTokens)
        XCTAssertEqual(try t.decode(), try preview(t, fill: t.codes))
    }

    func testEvaluateChecksItsInputs() throws {
        let s = try session()
        let vocab = SessionTests.model.hyperParameters.vocabSize
        var logits = [Float](repeating: 0, count: vocab)
        try logits.withUnsafeMutableBufferPointer { out in
            XCTAssertEqual(error { try s.evaluate(tokens: [], keep: 0, logits: out) }?.kind, .invalidArgument)
            XCTAssertEqual(error { try s.evaluate(tokens: [1], keep: 1, logits: out) }?.kind, .invalidArgument)
            XCTAssertEqual(error { try s.evaluate(tokens: [Int32(vocab)], keep: 0, logits: out) }?.kind, .invalidArgument)
            XCTAssertEqual(error { try s.evaluate(tokens: [-1], keep: 0, logits: out) }?.kind, .invalidArgument)
            try s.evaluate(tokens: [1, 2], keep: 0, logits: out)
            XCTAssertNoThrow(try s.evaluate(tokens: [3], keep: 2, logits: out))
        }
        var small = [Float](repeating: 0, count: vocab - 1)
        small.withUnsafeMutableBufferPointer { out in
            XCTAssertEqual(error { try s.evaluate(tokens: [1], keep: 0, logits: out) }?.kind, .bufferTooSmall)
        }
    }

    func error(_ body: () throws -> Void) -> PonderError? {
        do { try body() } catch let e as PonderError { return e } catch { XCTFail("\(error)") }
        return nil
    }
}

/// The transformer and its cache: a batch computes what one token at a time does, the cache
/// keeps what a sequence shares with the next one fed, and sequences do not see each other.
final class TransformerTests: XCTestCase {
    var model: Model { SessionTests.model }

    func state(threads: Int = 1) throws -> TransformerState {
        try TransformerState(weights: model.weights, pool: try ThreadPool(size: threads))
    }

    func logits(_ s: TransformerState, _ seq: Int) -> [Float] {
        Array(UnsafeBufferPointer(start: s.logits(of: seq), count: model.hyperParameters.vocabSize))
    }

    var tokens: [Int32] {
        let v = model.vocabulary
        return [v.bos] + ["a", "red", "circle"].map { v.id($0)! } + [v.think, v.endThink, v.image] + (0..<5).map { v.imageToken(code: $0 * 3) }
    }

    func testABatchComputesWhatOneTokenAtATimeDoes() throws {
        let batch = try state(), single = try state()
        try batch.append(0, tokens)
        for t in tokens { try single.append(0, [t]) }
        XCTAssertEqual(batch.count(of: 0), tokens.count)
        XCTAssertEqual(logits(batch, 0), logits(single, 0))
        let threaded = try state(threads: 3)
        try threaded.append(0, tokens)
        XCTAssertEqual(logits(threaded, 0), logits(batch, 0))
    }

    func testSetKeepsTheCommonPrefixAndComputesTheRest() throws {
        let reused = try state(), fresh = try state()
        var other = tokens
        other[other.count - 2] = model.vocabulary.imageToken(code: 1)
        try reused.set(0, to: tokens)
        try reused.set(0, to: other)
        try fresh.set(0, to: other)
        XCTAssertEqual(reused.count(of: 0), other.count)
        XCTAssertEqual(logits(reused, 0), logits(fresh, 0))
        // Setting what it holds recomputes the last token's logits, so they can be read.
        try reused.set(0, to: other)
        XCTAssertEqual(reused.count(of: 0), other.count)
        XCTAssertEqual(logits(reused, 0), logits(fresh, 0))
        reused.truncate(0, to: 2)
        XCTAssertEqual(reused.count(of: 0), 2)
    }

    func testSequencesAdvancedTogetherMatchEachAlone() throws {
        let together = try state(), alone = try state()
        let second = Array(tokens.prefix(3))
        try together.set(0, to: tokens)
        try together.set(1, to: second)
        try alone.set(0, to: tokens)
        let token = model.vocabulary.imageToken(code: 7)
        try together.advance(token, sequences: 2)
        try alone.append(0, [token])
        XCTAssertEqual(logits(together, 0), logits(alone, 0))
        try alone.set(0, to: second + [token])
        XCTAssertEqual(logits(together, 1), logits(alone, 0))
        XCTAssertEqual(together.count(of: 1), second.count + 1)
    }

    func testTheContextLimitIsAnErrorThatChangesNothing() throws {
        let s = try state()
        let n = model.hyperParameters.contextLength
        try s.append(0, [Int32](repeating: model.vocabulary.bos, count: n))
        XCTAssertThrowsError(try s.advance(model.vocabulary.bos, sequences: 1))
        XCTAssertEqual(s.count(of: 0), n)
        XCTAssertThrowsError(try s.append(0, [Int32(model.hyperParameters.vocabSize)]))
    }
}
