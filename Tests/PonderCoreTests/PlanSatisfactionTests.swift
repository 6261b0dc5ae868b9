import XCTest
@testable import PonderCore

/// Plan.satisfies (the check the engine runs on its own plans) against Python's
/// scene_satisfies, through Fixtures/plan-satisfies.jsonl: cases that
/// bindings/python/tests/test_cross_language.py generates and checks hold Python's answers.
final class PlanSatisfactionTests: XCTestCase {
    struct Case: Decodable {
        let prompt: String
        let plan: String
        let satisfies: Bool
    }

    func testAgreesWithThePythonRuleOnEveryFixtureCase() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/plan-satisfies.jsonl")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 500)
        var disagreements: [String] = []
        for line in lines {
            let c = try JSONDecoder().decode(Case.self, from: Data(line.utf8))
            let answer = try Plan(text: c.plan).satisfies(Prompt(c.prompt))
            if answer != c.satisfies { disagreements.append("\(c.prompt) | \(c.plan) | python says \(c.satisfies)") }
        }
        XCTAssertEqual(disagreements, [])
    }

    func testARelationAndARegionAreChecked() throws {
        let prompt = try Prompt("a red circle to the left of a blue square and a star in the top right corner")
        let good = try Plan(text: "background white\nsmall red circle at 20 60\nsmall blue square at 60 60\nsmall green star at 110 15")
        XCTAssertTrue(good.satisfies(prompt))
        // The circle right of the square; then the star outside its corner.
        XCTAssertFalse(try Plan(text: "background white\nsmall red circle at 70 60\nsmall blue square at 40 60\nsmall green star at 110 15").satisfies(prompt))
        XCTAssertFalse(try Plan(text: "background white\nsmall red circle at 20 60\nsmall blue square at 60 60\nsmall green star at 60 15").satisfies(prompt))
        // An object too many, or one missing.
        XCTAssertFalse(try Plan(text: "background white\nsmall red circle at 20 60\nsmall blue square at 60 60").satisfies(prompt))
    }
}
