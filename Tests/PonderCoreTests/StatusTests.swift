import Foundation
import XCTest
@testable import PonderCore

/// The statuses are defined once, by include/ponder.h's `ponder_status`; PonderError.Kind
/// and the Python binding's constants follow it, and this test holds them to it.
final class StatusTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `PONDER_ERR_NAME = value` pairs of the header's enum.
    func headerStatuses() throws -> [String: Int32] {
        let header = try String(contentsOf: Self.root.appendingPathComponent("include/ponder.h"), encoding: .utf8)
        var out: [String: Int32] = [:]
        for line in header.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "=" || $0 == "," }).map(String.init)
            guard parts.count >= 2, parts[0].hasPrefix("PONDER_ERR_") || parts[0] == "PONDER_OK",
                  let value = Int32(parts[1]) else { continue }
            out[parts[0]] = value
        }
        return out
    }

    func testKindIsTheHeadersStatusEnum() throws {
        let header = try headerStatuses()
        XCTAssertEqual(header["PONDER_OK"], 0)
        var errors = header
        errors["PONDER_OK"] = nil
        XCTAssertEqual(errors.count, PonderError.Kind.allCases.count)
        for (name, value) in errors {
            // PONDER_ERR_BUFFER_TOO_SMALL → bufferTooSmall
            let words = name.dropFirst("PONDER_ERR_".count).lowercased().split(separator: "_")
            let camel = words[0] + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
            let kind = PonderError.Kind(rawValue: value)
            XCTAssertEqual(kind.map { "\($0)" }, camel, name)
        }
        let names = PonderError.Kind.allCases.map { "\($0.name)" }
        XCTAssertEqual(Set(names).count, names.count, "status names are distinct")
        XCTAssertFalse(names.contains("ok"))
    }

    func testThePythonBindingsStatusConstantsAreTheHeaders() throws {
        let header = try headerStatuses()
        let binding = try String(contentsOf: Self.root.appendingPathComponent("bindings/python/ponder/__init__.py"), encoding: .utf8)
        var checked = 0
        // Lines such as `_CANCELLED = 11  # PONDER_ERR_CANCELLED`.
        for line in binding.split(separator: "\n") where line.hasPrefix("_") && line.contains("# PONDER_") {
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count >= 5, parts[1] == "=", let value = Int32(parts[2]) else { continue }
            XCTAssertEqual(header[parts[4]], value, String(line))
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0)
    }
}
