import XCTest
@testable import PonderCore

/// Hand-built GGUF headers; the full malformed-model suite (made from real exports) is in
/// bindings/python/tests/test_malformed_models.py.
final class GGUFTests: XCTestCase {
    struct Builder {
        var bytes: [UInt8] = []
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
        mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
        mutating func header(tensors: UInt64, kvs: UInt64) { u32(GGUFFile.magic); u32(3); u64(tensors); u64(kvs) }
    }

    func error(_ b: Builder) -> String? {
        do {
            try b.bytes.withUnsafeBytes { try GGUFFile.validate($0) }
            return nil
        } catch let e as PonderError {
            XCTAssertEqual(e.kind, .badModel)
            return e.message
        } catch {
            return "\(error)"
        }
    }

    func testMinimalFileIsValid() {
        var b = Builder()
        b.header(tensors: 0, kvs: 1)
        b.str("general.architecture"); b.u32(8); b.str("ponder")
        XCTAssertNil(error(b))
    }

    func testRejectsLiesAndTraps() {
        var b = Builder(); b.header(tensors: 0, kvs: 0); b.bytes[0] = 0
        XCTAssertTrue(error(b)!.contains("magic"))

        b = Builder(); b.header(tensors: UInt64.max, kvs: 0)
        XCTAssertTrue(error(b)!.contains("tensor count"))

        b = Builder(); b.header(tensors: 0, kvs: 1); b.u64(UInt64.max); b.bytes += [UInt8](repeating: 1, count: 16)
        XCTAssertTrue(error(b)!.contains("exceeds the file"))

        b = Builder(); b.header(tensors: 0, kvs: 1); b.str("k"); b.u32(77)
        XCTAssertTrue(error(b)!.contains("unknown value type"))

        b = Builder(); b.header(tensors: 0, kvs: 1); b.str("k"); b.u32(9); b.u32(9); b.u64(1); b.u32(9); b.u64(1); b.u32(9); b.u64(1)
        XCTAssertTrue(error(b)!.contains("nested"))

        b = Builder(); b.header(tensors: 0, kvs: 2); b.str("k"); b.u32(4); b.u32(1); b.str("k"); b.u32(4); b.u32(1)
        XCTAssertTrue(error(b)!.contains("duplicate metadata"))

        b = Builder(); b.header(tensors: 0, kvs: 1); b.str("general.alignment"); b.u32(4); b.u32(24)
        XCTAssertTrue(error(b)!.contains("power of two"))

        // A tensor whose dimensions multiply past Int.max.
        b = Builder(); b.header(tensors: 1, kvs: 0); b.str("t"); b.u32(4)
        for _ in 0..<4 { b.u64(UInt64(Int32.max)) }
        b.u32(0); b.u64(0); b.bytes += [UInt8](repeating: 0, count: 64)
        XCTAssertTrue(error(b)!.contains("more elements"))

        // Q8_0 row length that is not a whole number of blocks.
        b = Builder(); b.header(tensors: 1, kvs: 0); b.str("t"); b.u32(1); b.u64(33); b.u32(8); b.u64(0)
        b.bytes += [UInt8](repeating: 0, count: 128)
        XCTAssertTrue(error(b)!.contains("multiple of the block size"))
    }

    func testEveryTruncationOfAValidHeaderFails() {
        var b = Builder()
        b.header(tensors: 1, kvs: 1)
        b.str("general.architecture"); b.u32(8); b.str("ponder")
        b.str("weights"); b.u32(1); b.u64(32); b.u32(0); b.u64(0)
        while b.bytes.count % 32 != 0 { b.bytes.append(0) }
        b.bytes += [UInt8](repeating: 0, count: 128)
        XCTAssertNil(error(b))
        for cut in 0..<(b.bytes.count - 128 + 127) {
            var t = b
            t.bytes.removeLast(b.bytes.count - cut)
            XCTAssertNotNil(error(t), "cut at \(cut)")
        }
    }
}
