import Foundation
import XCTest
@testable import PonderCore

/// Editing a picture through the Swift API (docs/canvas.md): which cells each kind of edit
/// redraws, pixels outside them kept byte for byte, the phrase's references and room, and
/// determinism over thread counts.
final class CanvasTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shipped = try? Model(path: root.appendingPathComponent("models/ponder-shapes-q8_0.gguf").path)

    func session(seed: UInt64 = 1, threads: Int = 0, check: Int = 0) throws -> Session {
        guard let m = Self.shipped else { throw XCTSkip("the default model is not in models/") }
        var p = SessionParameters()
        p.seed = seed
        p.threads = threads
        p.checkAttempts = check
        return try Session(model: m, parameters: p)
    }

    func error(_ body: () throws -> Void) -> PonderError? {
        do { try body() } catch let e as PonderError { return e } catch { XCTFail("\(error)") }
        return nil
    }

    /// A base picture drawn from a fixed plan: a red circle on the left, a blue square on the right.
    func base(_ s: Session) throws -> Canvas {
        try s.plan(prompt: "a red circle to the left of a blue square")
        try s.setPlan("background white\nmedium red circle at 32 64\nmedium blue square at 96 64")
        try s.step(s.totalTokens)
        return try s.currentCanvas()
    }

    /// Pixels more than 16 px from every changed object's box (before and after).
    func assertFarPixelsKept(_ a: Canvas, _ b: Canvas, changed: [Plan.Object], file: StaticString = #filePath, line: UInt = #line) {
        var differ = 0, compared = 0
        for y in 0..<128 {
            for x in 0..<128 {
                let near = changed.contains { o in
                    let h = o.side / 2
                    return x >= o.x - h - 16 && x < o.x + h + 16 && y >= o.y - h - 16 && y < o.y + h + 16
                }
                guard !near else { continue }
                compared += 1
                for ch in 0..<3 where a.image.pixels[(y * 128 + x) * 3 + ch] != b.image.pixels[(y * 128 + x) * 3 + ch] { differ += 1 }
            }
        }
        XCTAssertGreaterThan(compared, 0, file: file, line: line)
        XCTAssertEqual(differ, 0, "\(differ) bytes far from the edit changed", file: file, line: line)
    }

    func testMoveRedrawsOnlyTheObjectsCells() throws {
        let s = try session()
        let a = try base(s)
        let moved = Plan.Object(shape: 0, colour: 0, size: 1, x: 40, y: 100)
        let b = try s.edit(a, plan: Plan(background: 0, objects: [moved, a.plan.objects[1]]))
        XCTAssertEqual(b.plan.objects, [moved, a.plan.objects[1]])
        XCTAssertGreaterThan(s.editedCells, 0)
        XCTAssertLessThan(s.editedCells, 128)
        assertFarPixelsKept(a, b, changed: [a.plan.objects[0], moved])
        // The input is a value: unchanged, so undo is keeping it.
        XCTAssertTrue(a.image != b.image)
        XCTAssertEqual(a.plan.objects[0].x, 32)
        // Same seed, any thread count: the same picture.
        let t = try session(threads: 1)
        let b1 = try t.edit(try base(t), plan: b.plan)
        XCTAssertTrue(b1.image == b.image, "another thread count drew another picture")
    }

    /// An edit's progress callback sees each sampled token of each pass, does not change the
    /// picture, and stops the edit when it returns false, leaving the session's canvas as it
    /// was (so the next edit starts from the input).
    func testEditProgressAndCancel() throws {
        let moved = Plan.Object(shape: 0, colour: 0, size: 1, x: 40, y: 100)
        let s = try session(check: 2)
        let a = try base(s)
        let plan = Plan(background: 0, objects: [moved, a.plan.objects[1]])
        let plain = try s.edit(a, plan: plan)

        let t = try session(check: 2)
        let c = try base(t)
        var calls: [(Int, Int)] = []
        t.editProgress = { done, total in calls.append((done, total)); return true }
        let watched = try t.edit(c, plan: plan)
        XCTAssertTrue(watched.image == plain.image, "a progress callback changed the picture")
        XCTAssertFalse(calls.isEmpty)
        XCTAssertEqual(calls.first?.0, 1)
        for (k, call) in calls.enumerated() {
            XCTAssertTrue(call.0 >= 1 && call.0 <= call.1, "call \(k): \(call)")
            if k > 0 && call.0 != 1 { XCTAssertEqual(call.0, calls[k - 1].0 + 1, "done grows by one within a pass") }
        }

        let u = try session(check: 2)
        let d = try base(u)
        u.editProgress = { done, _ in done < 3 }
        XCTAssertEqual(error { _ = try u.edit(d, plan: plan) }?.kind, .cancelled)
        let kept = try u.currentCanvas()
        XCTAssertTrue(kept.image == d.image && kept.plan == d.plan, "a cancelled edit changed the canvas")
        u.editProgress = nil
        XCTAssertTrue(try u.edit(kept, plan: plan).image == plain.image, "after a cancelled edit, the same edit draws the same picture")
    }

    func testBackgroundChangeRedrawsNothing() throws {
        let s = try session()
        let a = try base(s)
        let b = try s.edit(a, plan: Plan(background: 1, objects: a.plan.objects))
        XCTAssertEqual(s.editedCells, 0)
        var moved = a.image.pixels
        moved.withUnsafeMutableBufferPointer { Background.move($0.baseAddress!, pixels: 128 * 128, from: 0, to: 1) }
        XCTAssertTrue(b.image.pixels == moved, "the background change is not the picture moved onto black")
        XCTAssertEqual(b.plan.background, 1)
        XCTAssertEqual(b.codes, a.codes)
    }

    func testRemoveAndClearRegion() throws {
        let s = try session()
        let a = try base(s)
        let removed = try s.edit(a, plan: Plan(background: 0, objects: [a.plan.objects[1]]))
        assertFarPixelsKept(a, removed, changed: [a.plan.objects[0]])
        // Clearing a region with no phrase drops the objects centred in it.
        let cleared = try s.redraw(a, region: PixelBox(x0: 10, y0: 40, x1: 56, y1: 90), phrase: nil)
        XCTAssertEqual(cleared.plan.objects, [a.plan.objects[1]])
        assertFarPixelsKept(a, cleared, changed: [a.plan.objects[0]])
        // Everything removed: a plan with no objects, the cells cleared to the background.
        let empty = try s.edit(a, plan: Plan(background: 0, objects: []))
        XCTAssertEqual(empty.plan.text, "background white")
        XCTAssertEqual(try Canvas.plan(text: "background white"), empty.plan)
        XCTAssertGreaterThan(empty.image.pixels.filter { $0 >= 250 }.count, 128 * 128 * 3 * 95 / 100)
    }

    func testRedrawRegionPlansTheObjectInside() throws {
        let s = try session()
        let a = try base(s)
        let box = PixelBox(x0: 40, y0: 90, x1: 90, y1: 126)
        let b = try s.redraw(a, region: box, phrase: "a small green star")
        XCTAssertEqual(b.plan.objects.count, 3)
        let star = b.plan.objects[2]
        XCTAssertEqual([star.shape, star.colour, star.size], [4, 3, 0])
        XCTAssertTrue(star.x - 8 >= box.x0 && star.x + 8 <= box.x1 && star.y - 8 >= box.y0 && star.y + 8 <= box.y1, "\(star)")
        assertFarPixelsKept(a, b, changed: [star, Plan.Object(shape: 0, colour: 0, size: 2, x: 65, y: 108)])
        XCTAssertEqual(error { _ = try s.redraw(a, region: PixelBox(x0: 10, y0: 10, x1: 5, y1: 20), phrase: nil) }?.kind, .invalidArgument)
        XCTAssertEqual(error { _ = try s.redraw(a, region: PixelBox(x0: 0, y0: 0, x1: 129, y1: 20), phrase: nil) }?.kind, .invalidArgument)
        // A region too small for the object asked for.
        let small = error { _ = try s.redraw(a, region: PixelBox(x0: 50, y0: 2, x1: 70, y1: 20), phrase: "a large red heart") }
        XCTAssertEqual(small?.kind, .badPrompt)
        XCTAssertTrue(small?.message.contains("no room") ?? false, small?.message ?? "")
    }

    func testAddPlacesByTheRelation() throws {
        let s = try session()
        let a = try base(s)
        let b = try s.add(a, phrase: "a small yellow heart above the blue square")
        XCTAssertEqual(Array(b.plan.objects.prefix(2)), a.plan.objects)
        let heart = b.plan.objects[2], square = a.plan.objects[1]
        XCTAssertEqual([heart.shape, heart.colour, heart.size], [5, 2, 0])
        XCTAssertLessThanOrEqual(heart.y, square.y - World.relationDistance)
        assertFarPixelsKept(a, b, changed: [heart])
    }

    func testAddErrorsNameTheProblem() throws {
        let s = try session()
        let a = try base(s)
        let none = error { _ = try s.add(a, phrase: "a red star to the right of the green circle") }
        XCTAssertEqual(none?.kind, .badPrompt)
        XCTAssertTrue(none?.message.contains("'the green circle' names no object in the picture") ?? false, none?.message ?? "")
        let two = try s.add(a, phrase: "a small red circle in the top right corner")
        let ambiguous = error { _ = try s.add(two, phrase: "a star below the red circle") }
        XCTAssertTrue(ambiguous?.message.contains("could mean any of 2 objects") ?? false, ambiguous?.message ?? "")
        XCTAssertNotNil(error { _ = try s.add(a, phrase: "two red stars") }?.message.contains("asks for 2 objects"))
        XCTAssertEqual(error { _ = try s.add(a, phrase: "a red star on a black background") }?.kind, .badPrompt)
        XCTAssertEqual(error { _ = try s.add(a, phrase: "  ") }?.kind, .badPrompt)
        XCTAssertEqual(error { _ = try s.add(a, phrase: "a red blob") }?.kind, .badPrompt)
        // No room: a large object left of a circle near the left edge (centres 8 px apart
        // put the square's left side past the margin).
        let nearEdge = try s.edit(a, plan: Plan(background: 0, objects: [Plan.Object(shape: 0, colour: 0, size: 1, x: 24, y: 64), a.plan.objects[1]]))
        let noRoom = error { _ = try s.add(nearEdge, phrase: "a large green square to the left of the red circle") }
        XCTAssertTrue(noRoom?.message.contains("no room") ?? false, noRoom?.message ?? "")
        // A full picture.
        let full = try s.edit(a, plan: try Plan(text: """
            background white
            small red circle at 20 20
            small blue square at 100 20
            small green star at 20 100
            small pink ring at 100 100
            """))
        let e = error { _ = try s.add(full, phrase: "a small red heart") }
        XCTAssertTrue(e?.message.contains("already holds 4 objects") ?? false, e?.message ?? "")
    }

    func testCanvasFromAPictureAndCheckedEdits() throws {
        let s = try session(check: 2)
        let a = try base(s)
        let t = try session(check: 2)
        let read = try t.canvas(image: a.image)  // described: the plan read from the pixels
        XCTAssertTrue(read.image == a.image)
        XCTAssertEqual(read.codes.count, 256)
        let given = try t.canvas(image: a.image, plan: a.plan)
        XCTAssertEqual(given.plan, a.plan)
        // Removing an object far from the others samples nothing: its cells are cleared.
        let removed = try t.edit(given, plan: Plan(background: 0, objects: [a.plan.objects[0]]))
        XCTAssertEqual(t.checksUsed, 0)
        assertFarPixelsKept(a, removed, changed: [a.plan.objects[1]])
        // A recoloured object is drawn, then read back.
        var green = a.plan.objects[1]
        green.colour = 3
        let b = try t.edit(given, plan: Plan(background: 0, objects: [a.plan.objects[0], green]))
        XCTAssertGreaterThanOrEqual(t.checksUsed, 1)
        assertFarPixelsKept(a, b, changed: [green])
    }

    func testWindowedDecode() throws {
        let s = try session()
        _ = try base(s)
        let full = try s.decode()
        var cells = CellMask(s.model.hyperParameters)
        cells.mark(PixelBox(x0: 20, y0: 52, x1: 44, y1: 76), margin: 1)
        func worst(halo: Int) throws -> Int {
            let w = try s.decode(cells, halo: halo)
            var worst = 0
            for y in 0..<128 {
                for x in 0..<128 where cells.covers(x: x, y: y) {
                    for ch in 0..<3 { worst = max(worst, abs(Int(w[(y * 128 + x) * 3 + ch]) - Int(full[(y * 128 + x) * 3 + ch]))) }
                }
            }
            return worst
        }
        XCTAssertLessThanOrEqual(try worst(halo: Session.decodeHalo), 8)
        // The default model's decoder sees 5.5 cells far (3 × 3 convolutions: 3 at the grid's
        // scale, 3 at each of the next two and 2 at the last, each a half step finer): with a
        // halo of 6 the window is exact. At 4 it is within a level or two, which depends on
        // the codes drawn (they differ between AVX2 and AVX-512 processors).
        XCTAssertEqual(try worst(halo: 6), 0)
        XCTAssertLessThanOrEqual(try worst(halo: 4), 2)
        XCTAssertGreaterThan(try worst(halo: 0), 8)  // the halo is needed
    }

    /// Decoding only what a box of cells depends on gives those cells the same bytes as
    /// decoding the whole window, wherever the box lies in it (edges of the grid included).
    func testDecodingTheUsedCellsOfAWindowIsExact() throws {
        let s = try session()
        _ = try base(s)
        let decoder = s.model.decoder
        for (window, used) in [(GridWindow(x0: 0, y0: 0, x1: 16, y1: 16), GridWindow(x0: 5, y0: 6, x1: 9, y1: 8)),
                               (GridWindow(x0: 2, y0: 3, x1: 13, y1: 12), GridWindow(x0: 5, y0: 6, x1: 10, y1: 9)),
                               (GridWindow(x0: 0, y0: 9, x1: 7, y1: 16), GridWindow(x0: 0, y0: 13, x1: 2, y1: 16)),
                               (GridWindow(x0: 4, y0: 0, x1: 16, y1: 5), GridWindow(x0: 15, y0: 0, x1: 16, y1: 1))] {
            var whole = [UInt8](repeating: 7, count: 128 * 128 * 3), part = whole
            try decoder.decode(codes: s.codes, window: window, into: &whole, pool: s.pool)
            try decoder.decode(codes: s.codes, window: window, used: used, into: &part, pool: s.pool)
            for y in 0..<128 {
                for x in 0..<128 {
                    let inside = x / 8 >= used.x0 && x / 8 < used.x1 && y / 8 >= used.y0 && y / 8 < used.y1
                    for ch in 0..<3 {
                        let i = (y * 128 + x) * 3 + ch
                        XCTAssertEqual(part[i], inside ? whole[i] : 7, "window \(window), cells \(used), pixel (\(x), \(y))")
                        if part[i] != (inside ? whole[i] : 7) { return }
                    }
                }
            }
        }
    }

    func testModelWithoutEncoderEditsItsDrawings() throws {
        let m = try Model(path: Self.root.appendingPathComponent("Tests/Fuzz/corpus/model/tiny-random.gguf").path)
        XCTAssertNil(m.blankCodes)
        let s = try Session(model: m)
        try s.plan(prompt: "a red circle to the left of a blue square")
        try s.setPlan("background white\nmedium red circle at 32 64\nmedium blue square at 96 64")
        try s.step(s.totalTokens)
        let a = try s.currentCanvas()
        let b = try s.edit(a, plan: Plan(background: 0, objects: [a.plan.objects[0]]))
        XCTAssertEqual(b.plan.objects.count, 1)
        assertFarPixelsKept(a, b, changed: [a.plan.objects[1]])
        XCTAssertEqual(error { _ = try s.edit(a, plan: Plan(background: 0, objects: [])) }?.kind, .unsupported)
        // A picture from outside needs the encoder.
        XCTAssertEqual(error { _ = try s.canvas(image: a.image) }?.kind, .unsupported)
        // A failed edit leaves the session holding its input; its plan can be given again.
        XCTAssertTrue(try s.currentCanvas() == a)
        try s.setCanvasPlan(Plan(background: 0, objects: [a.plan.objects[0]]))
        XCTAssertTrue(try s.currentCanvas().image == a.image)
        XCTAssertEqual(try s.currentCanvas().plan.objects.count, 1)
    }

    /// Two objects whose gap falls inside one cell: editing one must not touch the other.
    func testKeptNeighbourSharingACellKeepsItsPixels() throws {
        let s = try session()
        try s.plan(prompt: "a red square to the left of a blue square")
        try s.setPlan("background white\nlarge red square at 39 64\nlarge blue square at 79 64")
        try s.step(s.totalTokens)
        let a = try s.currentCanvas()
        let blue = a.plan.objects[1], box = PixelBox(blue)
        var recoloured = a.plan.objects[0]
        recoloured.colour = 3
        var moved = a.plan.objects[0]
        moved.y = 100
        for plan in [[blue], [recoloured, blue], [moved, blue]] {
            let b = try s.edit(a, plan: Plan(background: 0, objects: plan))
            var changed = 0
            for y in box.y0..<box.y1 {
                for x in box.x0..<box.x1 where a.image.pixels[(y * 128 + x) * 3..<(y * 128 + x) * 3 + 3] != b.image.pixels[(y * 128 + x) * 3..<(y * 128 + x) * 3 + 3] {
                    changed += 1
                }
            }
            XCTAssertEqual(changed, 0, "pixels of the kept blue square changed for \(plan)")
        }
    }

    func testPhraseMessagesAndWhiteSpace() throws {
        let s = try session()
        let a = try base(s)
        // Any white space separates words, as in prompts and plans.
        XCTAssertEqual(try Canvas.plan(text: "background\u{00A0}white\u{00A0}\n").objects.count, 0)
        let b = try s.add(a, phrase: "a small green star to\u{00A0}the right of the blue square")
        XCTAssertEqual(b.plan.objects.count, 3)
        let cleared = try s.redraw(a, region: PixelBox(x0: 10, y0: 40, x1: 56, y1: 90), phrase: "\u{00A0}")
        XCTAssertEqual(cleared.plan.objects.count, 1)
        // A reference to an object the region removes says so.
        let gone = error { _ = try s.redraw(a, region: PixelBox(x0: 10, y0: 40, x1: 56, y1: 90), phrase: "a small pink ring below the red circle") }
        XCTAssertTrue(gone?.message.contains("which this redraw removes") ?? false, gone?.message ?? "")
        // A region smaller than the object says so.
        let tiny = error { _ = try s.redraw(a, region: PixelBox(x0: 60, y0: 10, x1: 61, y1: 11), phrase: "a small red star") }
        XCTAssertTrue(tiny?.message.contains("is 1×1 px") ?? false, tiny?.message ?? "")
        // Errors quote the caller's words, not the rewritten reference.
        let second = error { _ = try s.add(a, phrase: "a red star below the blue square in the center") }
        XCTAssertFalse(second?.message.contains("a blue square") ?? true, second?.message ?? "")
        // A plan whose background contradicts the picture's.
        let wrong = error { _ = try s.canvas(image: a.image, plan: Plan(background: 1, objects: a.plan.objects)) }
        XCTAssertEqual(wrong?.kind, .badPlan)
        XCTAssertTrue(wrong?.message.contains("border reads white") ?? false, wrong?.message ?? "")
    }
}
