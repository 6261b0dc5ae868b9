import XCTest
@testable import PonderCore

/// The messages of the prompt parser and the plan grammar: each names the role of the word it
/// reports and its near miss, never contradicts itself, reads any white space as a word
/// break, and escapes what cannot be seen (docs/world.md, "Words outside the language").
final class MessageTests: XCTestCase {
    func promptError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        message(of: text, .badPrompt, file: file, line: line) { _ = try Prompt(text) }
    }

    func planError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        message(of: text, .badPlan, file: file, line: line) { _ = try Plan(text: text) }
    }

    /// The message of the error `parse` must throw for `text`, of kind `kind`.
    func message(of text: String, _ kind: PonderError.Kind, file: StaticString, line: UInt, _ parse: () throws -> Void) -> String {
        do {
            try parse()
            XCTFail("accepted: \(text)", file: file, line: line)
            return ""
        } catch let e as PonderError {
            XCTAssertEqual(e.kind, kind, text, file: file, line: line)
            return e.message
        } catch {
            XCTFail("\(error)", file: file, line: line)
            return ""
        }
    }

    /// Each message holds every one of its parts.
    func check(_ cases: [(String, [String])], _ error: (String) -> String) {
        for (text, parts) in cases {
            let message = error(text)
            for part in parts { XCTAssertTrue(message.contains(part), "\(text): '\(part)' not in: \(message)") }
        }
    }

    func testPromptMessagesNameTheRoleAndTheNearMiss() {
        check([
            ("a magenta circle", ["'magenta' is not a colour", "did you mean 'pink'?", "colours: red"]),
            ("a big red circle", ["'big' is not a size", "did you mean 'large'?"]),
            ("a red cirle", ["'cirle' is not a shape", "did you mean 'circle'?"]),
            ("a red circel", ["did you mean 'circle'?"]),
            ("two red cirles", ["did you mean 'circles'?"]),
            ("two boxes", ["did you mean 'squares'?"]),
            ("a box", ["did you mean 'square'?"]),
            ("a red circle on a grey background", ["'grey' is not a background colour", "did you mean 'gray'?"]),
            ("a grey circle", ["'grey' is not an object's colour", "'gray' is a background colour", "on a gray background"]),
            ("a black circle", ["'black' is a background colour", "on a black background"]),
            ("a circle on a pink background", ["'pink' is an object's colour, not a background colour"]),
            ("a red big circle", ["did you mean 'large'?", "the order is count, size, colour, shape"]),
            ("a circle red", ["'red' is a colour and out of place"]),
            ("2 circles", ["not a count", "did you mean 'two'?"]),
            ("too circles", ["did you mean 'two'?"]),
            ("five circles", ["'five'", "one to four"]),
            ("red circle", ["'red' is a colour", "starts with a count"]),
            ("the circle", ["'the' cannot start a phrase"]),
            ("a blob", ["'blob' is not a size, colour or shape", "sizes:", "colours:", "shapes:"]),
            ("a red blob", ["'blob' is not a shape (shapes:"]),
            ("a red circle on a black backgrund", ["did you mean 'background'?"]),
            ("a red circle adn a square", ["unexpected word 'adn'", "did you mean 'and'?"]),
            ("a circle under a square", ["'under' is not a relation", "did you mean 'below'?"]),
            ("a circle abve a square", ["did you mean 'above'?"]),
            ("a circle left of a square", ["'left of' is not a relation", "did you mean 'to the left of'?"]),
            ("a circle to the left a square", ["'to the left' is not a relation", "did you mean 'to the left of'?"]),
            ("a circle at the middle", ["'at the middle' is not a region", "did you mean 'in the center'?"]),
            ("a circle in the top left and a square", ["'in the top left' is not a region", "did you mean 'in the top left corner'?"]),
            ("a circle in a box", ["'in a box' is not a region"]),
        ], { promptError($0) })
    }

    func testPlanMessagesNameTheRoleAndTheNearMiss() {
        let bg = "background white\n"
        check([
            ("Background white\nsmall red circle at 20 20", ["did you mean 'background'?"]),
            ("background grey\nsmall red circle at 20 20", ["'grey' is not a background colour", "did you mean 'gray'?"]),
            ("background pink\nsmall red circle at 20 20", ["'pink' is an object's colour, not a background colour"]),
            (bg + "big red circle at 20 20", ["'big' is not a size", "did you mean 'large'?"]),
            (bg + "red small circle at 20 20", ["'red' is an object's colour, not a size"]),
            (bg + "small magenta circle at 20 20", ["'magenta' is not an object's colour", "did you mean 'pink'?"]),
            (bg + "small black circle at 20 20", ["'black' is a background colour, not an object's colour"]),
            (bg + "small red cirle at 20 20", ["'cirle' is not a shape", "did you mean 'circle'?"]),
            (bg + "small red circles at 20 20", ["'circles' is plural", "'circle'"]),
            (bg + "small red circle att 20 20", ["expected 'at'", "did you mean 'at'?"]),
        ], { planError($0) })
    }

    /// Every message on a prompt one edit away from a good one (a word dropped, doubled,
    /// swapped with the next, or a word of the language put in) is a bad-prompt error, and
    /// none lists the word it reports among those it expects.
    func testNoMessageContradictsItself() throws {
        let good = [
            "a red circle on a black background",
            "a yellow triangle in the top left corner and three pink rings at the bottom on a black background",
            "a small green star to the left of a large purple heart",
            "a red square above a blue circle and a green cross to the right of the blue circle",
            "two stars and a ring below a heart",
        ]
        let extra = ["and", "on", "a", "the", "background", "in", "to", "red", "circle", "circles", "small", "two", "black", "above", "of"]
        var tried = 0
        for text in good {
            let words = text.split(separator: " ").map(String.init)
            var variants: [[String]] = []
            for k in words.indices {
                var w = words; w.remove(at: k); variants.append(w)
                w = words; w.insert(words[k], at: k); variants.append(w)
                if k + 1 < words.count { w = words; w.swapAt(k, k + 1); variants.append(w) }
                for e in extra { w = words; w.insert(e, at: k); variants.append(w) }
            }
            for e in extra { variants.append(words + [e]) }
            for v in variants {
                let prompt = v.joined(separator: " ")
                do {
                    _ = try Prompt(prompt)
                } catch let e as PonderError {
                    tried += 1
                    XCTAssertEqual(e.kind, .badPrompt)
                    XCTAssertFalse(e.message.isEmpty)
                    // "unexpected word 'w' after …: expected …" or "expected … but found 'w'":
                    // w is not among the expected.
                    for marker in ["unexpected word '", "but found '"] {
                        guard let r = e.message.range(of: marker) else { continue }
                        let found = e.message[r.upperBound...].prefix { $0 != "'" }
                        let message = e.message.replacingOccurrences(of: "unexpected", with: "UNEXPECTED")
                        guard let start = message.range(of: "expected ") else { continue }
                        var expected = message[start.upperBound...]
                        for end in [" after ", " in ", " but found", "; did you mean"] {
                            if let k = expected.range(of: end) { expected = expected[..<k.lowerBound] }
                        }
                        XCTAssertFalse(expected.contains("'\(found)'"), "\(prompt): \(e.message)")
                    }
                    XCTAssertFalse(e.message.contains("did you mean '\(v.first!)'?") && v.count == 1, prompt)
                }
            }
        }
        XCTAssertGreaterThan(tried, 500)
    }

    func testTheBackgroundPhraseComesLast() {
        let message = promptError("a red circle on a black background and a blue square")
        XCTAssertTrue(message.contains("'and a blue square' follows the background phrase"), message)
        XCTAssertTrue(message.contains("comes last"), message)
        XCTAssertFalse(message.contains("expected 'and'"), message)
        XCTAssertTrue(promptError("a circle on a black background background").contains("comes last"))
    }

    func testASecondPhraseOrPlacementIsNamed() {
        XCTAssertTrue(promptError("a circle a square").contains("'a' starts a new phrase after 'a circle'; phrases are joined with 'and'"))
        let message = promptError("a circle in the center above a square")
        XCTAssertTrue(message.contains("second placement"), message)
        XCTAssertTrue(message.contains("'in the center'"), message)
    }

    func testAnyWhiteSpaceSeparatesWords() throws {
        let plain = try Prompt("a red circle")
        for text in ["a red circle\n", "a red circle\r\n", "a\tred\tcircle", "\u{00A0}a\u{2003}red\u{3000}circle\u{2028}",
                     " a  red\n\ncircle.\n", "a\u{000B}red\u{000C}circle\u{0085}"] {
            XCTAssertEqual(try Prompt(text), plain, text.debugDescription)
        }
        let plan = try Plan(text: "background white\nsmall red circle at 20 20")
        XCTAssertEqual(try Plan(text: "background\u{00A0}white\r\nsmall\u{2003}red circle at 20 20\u{2029}"), plan)
        // Characters that are not white space stay in the word (and are reported, escaped).
        XCTAssertTrue(promptError("a red circle\u{200B}").contains("'circle\\u{200B}'"))
    }

    func testInvisibleCharactersAreEscaped() throws {
        XCTAssertEqual(PonderError.visible("a\nb\tc\rd\0e"), "a\\nb\\tc\\rd\\0e")
        XCTAssertEqual(PonderError.visible("x\u{200B}y\u{202E}z\u{FEFF}\u{00A0}\u{3164}\u{E000}\u{1B}"),
                       "x\\u{200B}y\\u{202E}z\\u{FEFF}\\u{A0}\\u{3164}\\u{E000}\\u{1B}")
        // Visible text, the plain space included, is kept as it is; escaping twice changes nothing.
        for text in ["a red circle", "café → ❤ 🟥", "ümlaut 円", "'quoted' \\n"] {
            XCTAssertEqual(PonderError.visible(text), text)
        }
        XCTAssertEqual(PonderError.visible(PonderError.visible("a\u{200B}\n")), PonderError.visible("a\u{200B}\n"))
        // A variation selector is invisible too (default-ignorable).
        XCTAssertEqual(PonderError.visible("❤\u{FE0F}"), "❤\\u{FE0F}")
        // In every message, whatever made it: prompts, plans, paths, model keys.
        let messages = [
            promptError("a red\u{200B} circle"),
            promptError("a red circle on a black background\u{0}"),
            planError("background white\nsmall red circle\u{202E} at 20 20"),
            PonderError(.badModel, "metadata key 'ponder.\u{1}key' is missing").message,
        ]
        for m in messages {
            XCTAssertTrue(m.unicodeScalars.allSatisfy { !PonderError.invisible($0) || $0 == " " }, m.debugDescription)
            XCTAssertTrue(m.contains("\\u{") || m.contains("\\0"), m)
        }
        XCTAssertThrowsError(try Model(path: "/nonexistent/model\n\u{200B}.gguf")) { error in
            let message = (error as! PonderError).message
            XCTAssertTrue(message.contains("model\\n\\u{200B}.gguf"), message)
        }
    }

    /// docs/world.md's table of everyday words is World.synonyms, entry for entry.
    func testTheSynonymTableIsTheDocumentedOne() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/world.md")
        let doc = try String(contentsOf: url, encoding: .utf8)
        let section = try XCTUnwrap(doc.range(of: "### Words outside the language"))
        var documented: [String: String] = [:]
        for line in doc[section.upperBound...].split(separator: "\n") {
            if line.hasPrefix("#") { break }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard line.hasPrefix("|"), cells.count == 2, World.promptWords.contains(cells[0]) else { continue }
            for w in cells[1].split(separator: ",") { documented[w.trimmingCharacters(in: .whitespaces)] = cells[0] }
        }
        var code: [String: String] = [:]
        for s in World.synonyms {
            XCTAssertNil(code[s.word], "\(s.word) twice")
            code[s.word] = s.means
            XCTAssertTrue(World.promptWords.contains(s.means), s.means)
            XCTAssertFalse(World.promptWords.contains(s.word), s.word)
        }
        XCTAssertEqual(documented, code)
    }

    func testNearMisses() {
        XCTAssertEqual(World.nearMisses(of: "grey"), ["gray"])
        XCTAssertEqual(World.nearMisses(of: "cirle"), ["circle"])
        XCTAssertEqual(World.nearMisses(of: "sqaure"), ["square"])  // a swap of neighbours
        XCTAssertEqual(World.nearMisses(of: "ovals"), ["circles"])
        XCTAssertEqual(World.nearMisses(of: "Circle"), ["circle"])
        XCTAssertEqual(World.nearMisses(of: "xyzzy"), [])
        XCTAssertEqual(World.nearMisses(of: "re"), [])  // too short to guess
        XCTAssertEqual(World.editDistance(Array("kitten".unicodeScalars), Array("sitting".unicodeScalars), limit: 5), 3)
        XCTAssertEqual(World.editDistance(Array("ab".unicodeScalars), Array("ba".unicodeScalars), limit: 2), 1)
        XCTAssertEqual(World.editDistance(Array("abcdef".unicodeScalars), Array("uvwxyz".unicodeScalars), limit: 2), 3)
    }

    /// A plan given without a prompt is drawn under the prompt it answers.
    func testAPlanNamesAPromptItSatisfies() throws {
        let plan = try Plan(text: "background black\nsmall red circle at 20 20\nlarge orange star at 90 90\nsmall red circle at 60 20")
        let prompt = try plan.prompt()
        XCTAssertEqual(prompt.text, "two small red circles and a large orange star on a black background")
        XCTAssertTrue(plan.satisfies(prompt))
        XCTAssertEqual(try Plan(text: "background white\nmedium orange heart at 64 64").prompt().text, "a medium orange heart")
        // Every plan the grammar offers, drawn at random, satisfies its prompt.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var g = PlanGrammar()
            while true {
                let a = g.allowed()
                var options = a.words + a.numbers.map(String.init)
                if a.end && (options.isEmpty || Int.random(in: 0..<3, using: &rng) == 0) { options = [] }
                guard let w = options.randomElement(using: &rng) else { break }
                try g.accept(word: w)
            }
            XCTAssertTrue(g.plan.satisfies(try g.plan.prompt()), g.plan.text)
        }
        XCTAssertThrowsError(try Plan(background: 0, objects: []).prompt())
        XCTAssertThrowsError(try Plan(background: 9, objects: plan.objects).prompt())
    }
}
