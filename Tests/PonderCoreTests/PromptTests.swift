import XCTest
@testable import PonderCore

final class PromptTests: XCTestCase {
    func testParsesObjectsRegionsAndBackground() throws {
        let p = try Prompt("A yellow triangle in the top left corner and three pink rings at the bottom on a black background.")
        XCTAssertEqual(p.objects.count, 4)
        XCTAssertEqual(p.objects[0].shape, World.shapes.firstIndex(of: "triangle"))
        XCTAssertEqual(p.objects[0].region, 0)
        XCTAssertEqual(p.objects[1].region, 7)
        XCTAssertEqual(p.objects[3].colour, World.colours.firstIndex(of: "pink"))
        XCTAssertEqual(p.background, World.backgrounds.firstIndex(of: "black"))
        XCTAssertEqual(p.words.last, "background")
        // Images are drawn from the words without the background phrase (Session).
        XCTAssertEqual(p.wordsOnWhite, Array(p.words.dropLast(4)))
        XCTAssertEqual(p.wordsOnWhite.last, "bottom")
        let plain = try Prompt("a red circle")
        XCTAssertEqual(plain.wordsOnWhite, plain.words)
    }

    func testRelationsWithNewAndReferencedTargets() throws {
        let p = try Prompt("a red square above a blue circle and a green cross to the right of the blue circle")
        XCTAssertEqual(p.objects.count, 3)
        XCTAssertEqual(p.relations.count, 2)
        XCTAssertEqual(p.relations[0].relation, .above)
        XCTAssertEqual(p.relations[0].target, 1)
        XCTAssertEqual(p.relations[1].subject, 2)
        XCTAssertEqual(p.relations[1].relation, .rightOf)
        XCTAssertEqual(p.relations[1].target, 1)
    }

    func testUnnamedAttributesStayOpen() throws {
        let p = try Prompt("two stars")
        XCTAssertEqual(p.objects.count, 2)
        XCTAssertNil(p.objects[0].colour)
        XCTAssertNil(p.objects[0].size)
        XCTAssertNil(p.background)
    }

    func testErrorsNameTheOffendingWord() {
        let cases: [(String, String)] = [
            ("a red circel", "circel"),
            ("two circle", "circle"),
            ("a circles", "circles"),
            ("a circle and a square and a ring and a star and a heart", "at most 4"),
            ("a circle to the left of the star", "the star"),
            ("two circles above a star", "count one"),
            ("a circle on a pink background", "pink"),
            ("a circle at the middle", "at the middle"),
            ("   ", "empty"),
            ("a circle a square", "'a'"),
        ]
        for (text, word) in cases {
            XCTAssertThrowsError(try Prompt(text), text) { error in
                let e = error as! PonderError
                XCTAssertEqual(e.kind, .badPrompt, text)
                XCTAssertTrue(e.message.contains(word), "\(text): \(e.message)")
            }
        }
    }

    func testEveryPromptWordIsListed() throws {
        let words = Set(World.promptWords)
        for w in ["a", "an", "one", "four", "crosses", "beige", "corner", "center", "of", "below"] {
            XCTAssertTrue(words.contains(w), w)
        }
        let long = "a small red circle to the left of a large blue square and a small green star above the large blue square and a small pink heart below the large blue square on a beige background"
        XCTAssertLessThanOrEqual(try Prompt(long).words.count, Prompt.maxWords)
    }
}

final class PlanTests: XCTestCase {
    let text = "background white\nlarge red circle at 30 64\nsmall blue star at 100 64"

    func testRoundTrip() throws {
        let plan = try Plan(text: text)
        XCTAssertEqual(plan.objects.count, 2)
        XCTAssertEqual(plan.objects[0].side, 36)
        XCTAssertEqual(plan.text, text)
        XCTAssertEqual(try Plan(text: "  background   white \n\n large red circle at 30 64  \t small blue star at 100 64 "), plan)
    }

    func testGrammarOnlyOffersValidContinuations() throws {
        var g = PlanGrammar()
        XCTAssertEqual(g.allowed().words, ["background"])
        try g.accept(word: "background")
        try g.accept(word: "gray")
        XCTAssertFalse(g.allowed().end)  // at least one object
        for w in ["large", "red", "circle", "at"] { try g.accept(word: w) }
        let xs = g.allowed().numbers
        XCTAssertEqual(xs.first, 20)
        XCTAssertEqual(xs.last, 108)
        try g.accept(word: "64")
        try g.accept(word: "64")
        XCTAssertTrue(g.allowed().end)
        for w in ["large", "blue", "square", "at"] { try g.accept(word: w) }
        // Every offered x leaves some y; every offered y keeps the gap.
        for x in g.allowed().numbers {
            var h = g
            try h.accept(word: String(x))
            let ys = h.allowed().numbers
            XCTAssertFalse(ys.isEmpty)
            for y in ys {
                XCTAssertTrue(World.separated(x1: Double(x), y1: Double(y), s1: 36, x2: 64, y2: 64, s2: 36))
            }
        }
    }

    func testGrammarEndsAfterFourObjects() throws {
        var g = PlanGrammar()
        for w in "background white small red circle at 20 20 small red circle at 60 20 small red circle at 100 20 small red circle at 20 60".split(separator: " ") {
            try g.accept(word: String(w))
        }
        XCTAssertEqual(g.allowed().words, [])
        XCTAssertTrue(g.allowed().end)
        XCTAssertThrowsError(try g.accept(word: "small"))
    }

    func testBadPlansNameLineAndWord() {
        let cases: [(String, String)] = [
            ("background white\nsmall red circle at 5 20", "line 2"),
            ("background white\nsmall red circle at 20 20\nsmall red blob at 20 80", "blob"),
            ("background white\nlarge red circle at 60 60\nlarge blue circle at 70 70", "closer"),
            ("background\nsmall red circle at 20 20", "small"),
            ("background white\nsmall red circle at -1 20", "-1"),
        ]
        for (text, word) in cases {
            XCTAssertThrowsError(try Plan(text: text)) { error in
                let e = error as! PonderError
                XCTAssertEqual(e.kind, .badPlan)
                XCTAssertTrue(e.message.contains(word), "\(text): \(e.message)")
            }
        }
    }
}

final class SamplerTests: XCTestCase {
    func draw(_ params: SamplingParameters, seed: UInt64, logits: [Float], n: Int = 200) -> [Int32] {
        let s = Sampler(params: params, capacity: logits.count)
        s.rng = RandomSource(seed: seed)
        return (0..<n).map { _ in
            s.sample(count: logits.count) { ids, out in
                for i in logits.indices { ids[i] = Int32(i); out[i] = logits[i] }
            }
        }
    }

    func testGreedyAndSeeds() {
        let logits: [Float] = [0.1, 2.0, 2.0, -1, 0.5]
        XCTAssertEqual(Set(draw(SamplingParameters(temperature: 0), seed: 1, logits: logits)), [1])
        XCTAssertEqual(draw(SamplingParameters(), seed: 9, logits: logits), draw(SamplingParameters(), seed: 9, logits: logits))
        XCTAssertNotEqual(draw(SamplingParameters(), seed: 9, logits: logits), draw(SamplingParameters(), seed: 10, logits: logits))
    }

    func testTopKAndTopPRestrictTheChoice() {
        let logits: [Float] = [3, 2.9, 0, 0, 0, 0, -2]
        XCTAssertEqual(Set(draw(SamplingParameters(topK: 2), seed: 3, logits: logits)), [0, 1])
        XCTAssertEqual(Set(draw(SamplingParameters(topP: 0.5), seed: 3, logits: logits)), [0, 1])
        XCTAssertGreaterThan(Set(draw(SamplingParameters(), seed: 3, logits: logits, n: 2000)).count, 4)
    }
}
