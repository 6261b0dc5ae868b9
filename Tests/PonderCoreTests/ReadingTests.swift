import Foundation
import XCTest
@testable import PonderCore

/// Reading pictures through the Swift API: the encoder's presence, image size checks, the
/// background read from the border, and which cells checked drawing redraws.
final class ReadingTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus/model")

    func model(_ name: String) throws -> Model {
        try Model(path: Self.corpus.appendingPathComponent(name).path)
    }

    func solid(_ rgb: (UInt8, UInt8, UInt8), width: Int = 128, height: Int = 128) throws -> RGBImage {
        var pixels: [UInt8] = []
        for _ in 0..<(width * height) { pixels += [rgb.0, rgb.1, rgb.2] }
        return try RGBImage(width: width, height: height, pixels: pixels)
    }

    func error(_ body: () throws -> Void) -> PonderError? {
        do { try body() } catch let e as PonderError { return e } catch { XCTFail("\(error)") }
        return nil
    }

    func testModelWithoutEncoderDrawsButCannotRead() throws {
        let m = try model("tiny-random.gguf")
        XCTAssertFalse(m.canReadImages)
        let s = try Session(model: m)
        let e = error { try s.setImage(try self.solid((255, 255, 255))) }
        XCTAssertEqual(e?.kind, .unsupported)
        XCTAssertTrue(e?.message.contains("no image encoder") ?? false, e?.message ?? "")
    }

    func testSetImageEncodesAndDescribes() throws {
        let m = try model("tiny-random-encoder.gguf")
        XCTAssertTrue(m.canReadImages)
        let s = try Session(model: m)
        try s.setImage(try solid((240, 228, 200)))
        XCTAssertEqual(s.codes.count, m.hyperParameters.imageTokens)
        XCTAssertEqual(s.background, 3)
        let plan = try s.describe()
        XCTAssertEqual(plan.background, 3)
        XCTAssertEqual(s.plan, plan)
        // Deterministic: the same picture, the same plan, on any thread count.
        var p = SessionParameters()
        p.threads = 1
        let t = try Session(model: m, parameters: p)
        try t.setImage(try solid((240, 228, 200)))
        XCTAssertEqual(try t.describe(), plan)
        XCTAssertEqual(t.codes, s.codes)
    }

    func testWrongSizeNamesBothSizes() throws {
        let s = try Session(model: try model("tiny-random-encoder.gguf"))
        let e = error { try s.setImage(try self.solid((0, 0, 0), width: 100, height: 50)) }
        XCTAssertEqual(e?.kind, .invalidArgument)
        XCTAssertTrue(e?.message.contains("100×50") ?? false, e?.message ?? "")
        XCTAssertTrue(e?.message.contains("128×128") ?? false, e?.message ?? "")
    }

    func testDescribeNeedsAWholeImage() throws {
        let s = try Session(model: try model("tiny-random-encoder.gguf"))
        XCTAssertEqual(error { try s.describe() }?.kind, .wrongState)
        try s.plan(prompt: "a red circle")
        try s.step(5)
        XCTAssertEqual(error { try s.describe() }?.kind, .wrongState)
    }

    func testBackgroundIsTheNearestToTheBordersMedian() throws {
        for (i, c) in World.backgroundRGB.enumerated() {
            let img = try solid(c)
            XCTAssertEqual(Background.detect(img.pixels, width: 128, height: 128), i)
        }
        // A white border with a black object touching one edge: the median is still white.
        var pixels = try solid((255, 255, 255)).pixels
        for x in 0..<40 { for ch in 0..<3 { pixels[x * 3 + ch] = 24 } }
        XCTAssertEqual(Background.detect(pixels, width: 128, height: 128), 0)
        XCTAssertEqual(Background.detect([], width: 128, height: 128), 0)  // too short: no trap
    }

    func testCellsToRedraw() throws {
        let hp = try model("tiny-random.gguf").hyperParameters  // 128 × 128, 16 × 16 grid
        let star = Plan.Object(shape: 4, colour: 0, size: 0, x: 20, y: 20)  // small: pixels 12...27, cells 1...3
        // Read back where planned (within the tolerance): nothing to redraw.
        var seen = star
        seen.x += Session.checkTolerance
        XCTAssertEqual(Session.cellsToRedraw(planned: [star], seen: [seen], hp: hp).cells, [])
        // Drawn as a diamond: the star's cells and the diamond's, with a one-cell margin.
        var diamond = star
        diamond.shape = 3
        let (cells, wrong) = Session.cellsToRedraw(planned: [star], seen: [diamond], hp: hp)
        XCTAssertEqual(wrong, 1)
        XCTAssertEqual(cells, (0...4).flatMap { gy in (0...4).map { gx in gy * 16 + gx } })
        // Too far away, missing, or extra: all redrawn.
        seen.x += 1
        XCTAssertFalse(Session.cellsToRedraw(planned: [star], seen: [seen], hp: hp).cells.isEmpty)
        XCTAssertEqual(Session.cellsToRedraw(planned: [star], seen: [], hp: hp).cells, cells)
        let extra = Plan.Object(shape: 0, colour: 4, size: 2, x: 100, y: 100)  // large: 36 px
        let more = Session.cellsToRedraw(planned: [star], seen: [star, extra], hp: hp).cells
        XCTAssertEqual(more.first, 9 * 16 + 9)  // pixels 82...117: cells 10...14, 9...15 with the margin
        XCTAssertEqual(more.last, 255)
        // Two objects read with each other's attributes (the model's binding slip): both are
        // there, so nothing is redrawn.
        let ring = Plan.Object(shape: 7, colour: 4, size: 1, x: 90, y: 40)
        var swappedStar = star, swappedRing = ring
        (swappedStar.x, swappedStar.y, swappedRing.x, swappedRing.y) = (ring.x, ring.y, star.x, star.y)
        XCTAssertEqual(Session.cellsToRedraw(planned: [star, ring], seen: [swappedRing, swappedStar], hp: hp).wrong, 0)
        // A wrong kind read at the ring's place while the star reads right: only the ring.
        var heart = ring
        heart.shape = 5
        let ringCells = Session.cellsToRedraw(planned: [ring], seen: [], hp: hp).cells
        XCTAssertEqual(Session.cellsToRedraw(planned: [star, ring], seen: [star, heart], hp: hp).cells, ringCells)
        // Each read-back object matches one planned object at most.
        XCTAssertEqual(Session.cellsToRedraw(planned: [star, star], seen: [star], hp: hp).cells, cells)
    }

    func testRedrawResamplesOnlyTheGivenCells() throws {
        var p = SessionParameters()
        p.seed = 5
        p.checkAttempts = 0
        let s = try Session(model: try model("tiny-random-encoder.gguf"), parameters: p)
        try s.plan(prompt: "a red circle above a blue star")
        try s.step(256)
        let before = s.codes
        let cells = Array(40...44) + Array(56...60) + Array(200...210)
        try s.redraw(cells, seed: 1)
        let inside = Set(cells)
        for i in 0..<256 where !inside.contains(i) { XCTAssertEqual(s.codes[i], before[i], "cell \(i) was kept") }
        XCTAssertNotEqual(cells.map { s.codes[$0] }, cells.map { before[$0] })
        // Deterministic: the same redraw of the same drawing gives the same codes.
        let t = try Session(model: s.model, parameters: p)
        try t.plan(prompt: "a red circle above a blue star")
        try t.step(256)
        try t.redraw(cells, seed: 1)
        XCTAssertEqual(t.codes, s.codes)
    }

    func testCheckedDrawingIsDeterministicAcrossThreads() throws {
        let m = try model("tiny-random-encoder.gguf")
        func draw(_ threads: Int, _ checks: Int) throws -> (codes: [Int32], checks: Int, redraws: Int) {
            var p = SessionParameters()
            p.seed = 11
            p.threads = threads
            p.checkAttempts = checks
            let s = try Session(model: m, parameters: p)
            try s.plan(prompt: "a red circle above a blue star")
            try s.step(256)
            return (s.codes, s.checksUsed, s.redrawsUsed)
        }
        let a = try draw(1, 2), b = try draw(2, 2), off = try draw(2, 0)
        XCTAssertEqual(a.codes, b.codes)
        XCTAssertEqual(a.checks, b.checks)
        XCTAssertEqual(off.checks, 0)
        XCTAssertGreaterThanOrEqual(a.checks, 1)
        XCTAssertLessThan(a.redraws, a.checks)  // every redraw is read back
        var p = SessionParameters()
        p.checkAttempts = SessionParameters.maxCheckAttempts + 1
        XCTAssertEqual(error { _ = try Session(model: m, parameters: p) }?.kind, .invalidArgument)
    }
}
