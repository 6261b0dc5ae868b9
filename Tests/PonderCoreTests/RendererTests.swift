import XCTest
@testable import PonderCore

/// Renderer (which previews use) against training's ponder_train.image.render, through
/// Fixtures/renders.jsonl: each plan with the FNV-1a hash of Python's render, written and
/// checked by bindings/python/tests/test_cross_language.py.
final class RendererTests: XCTestCase {
    struct Case: Decodable {
        let plan: String
        let fnv1a64: String
    }

    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    func testEveryFixturePlanRendersAsPythonRendersIt() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/renders.jsonl")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 80)
        var differ: [String] = []
        for line in lines {
            let c = try JSONDecoder().decode(Case.self, from: Data(line.utf8))
            let rgb = Renderer.render(try Plan(text: c.plan))
            XCTAssertEqual(rgb.count, World.canvas * World.canvas * 3)
            if Self.fnv1a64(rgb) != c.fnv1a64 { differ.append(c.plan) }
        }
        XCTAssertEqual(differ, [])
    }

    func testPixelsOfASquareAndTheBackgrounds() throws {
        // A square of side 16 centred on (20, 20) covers pixels 12 ... 27 exactly.
        let plan = try Plan(text: "background black\nsmall red square at 20 20")
        let red = World.colourRGB[0], black = World.backgroundRGB[1]
        func pixel(_ rgb: [UInt8], _ x: Int, _ y: Int) -> [UInt8] { Array(rgb[(y * World.canvas + x) * 3..<(y * World.canvas + x) * 3 + 3]) }
        let rgb = Renderer.render(plan)
        XCTAssertEqual(pixel(rgb, 12, 12), [red.0, red.1, red.2])
        XCTAssertEqual(pixel(rgb, 27, 27), [red.0, red.1, red.2])
        XCTAssertEqual(pixel(rgb, 11, 12), [black.0, black.1, black.2])
        XCTAssertEqual(pixel(Renderer.render(plan, onWhite: true), 11, 12), [255, 255, 255])
        // Another size scales the world: at half size the square covers pixels 6 ... 13.
        let half = Renderer.render(plan, width: 64, height: 64)
        XCTAssertEqual(half.count, 64 * 64 * 3)
        XCTAssertEqual(Array(half[(6 * 64 + 6) * 3..<(6 * 64 + 6) * 3 + 3]), [red.0, red.1, red.2])
        XCTAssertEqual(Array(half[(6 * 64 + 5) * 3..<(6 * 64 + 5) * 3 + 3]), [black.0, black.1, black.2])
        XCTAssertEqual(Renderer.render(plan, width: 0, height: 64), [])
    }
}
