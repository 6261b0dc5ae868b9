import XCTest
@testable import PonderCore

/// PNGReader against Fixtures/png (PNGs without the .png suffix, written by make.py there,
/// which also writes each conversion case's expected RGB8 pixels as NAME.rgb) and against
/// hostile inputs.
final class PNGReaderTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/png")

    func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
    }

    func decode(_ bytes: [UInt8]) throws -> RGBImage {
        try bytes.withUnsafeBytes { try PNGReader.decode($0) }
    }

    /// The error `body` throws; fails the test when it returns instead.
    func failure(_ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> PonderError? {
        do {
            _ = try body()
            XCTFail("no error", file: file, line: line)
        } catch let error as PonderError {
            return error
        } catch {
            XCTFail("not a PonderError: \(error)", file: file, line: line)
        }
        return nil
    }

    func check(_ name: String, width: Int, height: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let image = try PNGReader.read(path: Self.fixtures.appendingPathComponent(name).path)
        XCTAssertEqual(image.width, width, name, file: file, line: line)
        XCTAssertEqual(image.height, height, name, file: file, line: line)
        XCTAssertEqual(image.pixels, try fixture(name + ".rgb"), name, file: file, line: line)
    }

    func testGreyAtEightFourAndOneBits() throws {
        try check("grey8", width: 4, height: 3)
        try check("grey4", width: 5, height: 2)
        try check("grey1", width: 9, height: 2)
        let image = try decode(fixture("grey4"))
        XCTAssertEqual(Array(image.pixels.prefix(3)), [0, 0, 0])
        XCTAssertEqual(Array(image.pixels.suffix(3)), [255, 255, 255])
    }

    /// `plain` and `withBackground` (the same pixels plus a bKGD chunk) decode to their
    /// sizes, and their first pixel (fully transparent) comes out white, then `background`.
    func checkTransparentFirstPixel(_ plain: String, _ withBackground: String, width: Int, height: Int,
                                    background: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        try check(plain, width: width, height: height, file: file, line: line)
        try check(withBackground, width: width, height: height, file: file, line: line)
        XCTAssertEqual(Array(try decode(fixture(plain)).pixels.prefix(3)), [255, 255, 255], file: file, line: line)
        XCTAssertEqual(Array(try decode(fixture(withBackground)).pixels.prefix(3)), background, file: file, line: line)
    }

    func testGreyAlphaOnWhiteAndOnItsBackground() throws {
        // Column 0 is fully transparent; bKGD is grey 60.
        try checkTransparentFirstPixel("grey-alpha", "grey-alpha-bkgd", width: 4, height: 2, background: [60, 60, 60])
    }

    func testPalettes() throws {
        try check("palette", width: 4, height: 2)
        try check("palette2", width: 5, height: 3)
        XCTAssertEqual(Array(try decode(fixture("palette")).pixels.prefix(6)), [255, 0, 0, 0, 200, 0])
    }

    func testPaletteWithTRNSOnWhiteAndOnItsBackgroundIndex() throws {
        // Pixel 0 is entry 0 (alpha 0); bKGD names palette entry 2.
        try checkTransparentFirstPixel("palette-trns", "palette-trns-bkgd", width: 4, height: 2, background: [10, 20, 250])
    }

    func testRGBWithEveryFilterAndWithATRNSColour() throws {
        try check("rgb8-filters", width: 7, height: 5)
        try check("rgb8-trns", width: 7, height: 5)
        let keyed = try decode(fixture("rgb8-trns")).pixels
        XCTAssertEqual(Array(keyed[(7 + 2) * 3 ..< (7 + 2) * 3 + 3]), [255, 255, 255])
    }

    func testSixteenBitMapsToRoundedEightBit() throws {
        try check("rgb16", width: 3, height: 2)
        // Every 16-bit value, at row v/256, column v%256.
        let image = try decode(fixture("grey16-all"))
        XCTAssertEqual(image.width, 256)
        XCTAssertEqual(image.height, 256)
        var wrong = 0
        for v in 0..<65536 {
            let expected = UInt8((Double(v) / 257).rounded())
            if image.pixels[3 * v] != expected || image.pixels[3 * v + 1] != expected || image.pixels[3 * v + 2] != expected {
                wrong += 1
            }
        }
        XCTAssertEqual(wrong, 0)
    }

    func testRGBAOnWhiteAndOnItsBackground() throws {
        try check("rgba8", width: 4, height: 2)
        try check("rgba8-bkgd", width: 4, height: 2)
        try check("rgba16-bkgd", width: 3, height: 2)
        let white = try decode(fixture("rgba8")).pixels, bkgd = try decode(fixture("rgba8-bkgd")).pixels
        XCTAssertEqual(Array(white.prefix(3)), [255, 255, 255])       // alpha 0
        XCTAssertEqual(Array(bkgd.prefix(3)), [0, 128, 255])          // alpha 0 on bKGD
        XCTAssertEqual(Array(white[9..<12]), Array(bkgd[9..<12]))     // alpha 255: no background
        XCTAssertEqual(Array(white[6..<9]), [227, 157, 255])          // (200, 60, 255) at alpha 128 on white
        // A bKGD with a bad CRC is ignored, as libpng ignores it: back to white.
        var badBKGD = try fixture("rgba8-bkgd")
        let at = try XCTUnwrap(badBKGD.indices.first { badBKGD[$0 ..< $0 + 4].elementsEqual("bKGD".utf8) })
        badBKGD[at + 4 + 6] ^= 1
        XCTAssertEqual(try decode(badBKGD).pixels, white)
    }

    func testInterlaced() throws {
        try check("interlaced", width: 11, height: 9)
        try check("interlaced-grey2", width: 10, height: 7)
        try check("interlaced-rgba", width: 5, height: 5)
    }

    func testAncillaryChunksAreIgnored() throws {
        // Holds a zTXt inflating to 4 MB, a junk iCCP and a private chunk: same pixels as without.
        try check("ancillary", width: 7, height: 5)
        XCTAssertEqual(try decode(fixture("ancillary")), try decode(fixture("rgb8-filters")))
    }

    func testEightBitRGBRoundTripsThroughPNGWriterByteExactly() throws {
        let (width, height) = (37, 23)
        var state: UInt32 = 12345
        let rgb = (0..<width * height * 3).map { _ -> UInt8 in
            state = state &* 1_103_515_245 &+ 12345
            return UInt8(truncatingIfNeeded: state >> 16)
        }
        let png = try rgb.withUnsafeBytes { try PNGWriter.encode(rgb: $0, width: width, height: height) }
        let image = try decode(png)
        XCTAssertEqual(image, try RGBImage(width: width, height: height, pixels: rgb))
        // Every byte value in every channel.
        let ramp = (0..<256 * 3).map { UInt8($0 / 3) }
        let rampPNG = try ramp.withUnsafeBytes { try PNGWriter.encode(rgb: $0, width: 256, height: 1) }
        XCTAssertEqual(try decode(rampPNG).pixels, ramp)
    }

    func testHostileFilesAreErrors() throws {
        let cases: [(String, String)] = [
            ("truncated", "PNG: truncated data"),
            ("no-iend", "PNG: truncated data"),
            ("bad-crc-ihdr", "PNG: IHDR: CRC error"),
            ("bad-crc-idat", "PNG: IDAT: CRC error"),
            ("garbage", "PNG: not a PNG"),
            ("zero-size", "PNG: image size 0×0 is out of range"),
            ("side-2-31", "PNG: image size 2147483648×1 is out of range"),
            ("bomb-30000", "PNG: image size 30000×30000 has 900000000 pixels, over the limit of 67108864"),
            ("bomb-4096", "PNG: too little image data"),
            ("interlaced-junk", "PNG: "),
            ("not-zlib", "PNG: "),
            ("huge-chunk-length", "PNG: truncated data"),
            ("split-idat", "PNG: IDAT chunks are not consecutive"),
            ("bad-colour-type", "PNG: "),
            ("palette-without-plte", "PNG: "),
            ("short-image-data", "PNG: "),
        ]
        for (name, prefix) in cases {
            let bytes = try fixture("hostile-\(name)")
            guard let error = failure({ try self.decode(bytes) }) else { continue }
            XCTAssertEqual(error.kind, .invalidArgument, name)
            XCTAssertTrue(error.message.hasPrefix(prefix), "\(name): \(error.message)")
            XCTAssertGreaterThan(error.message.count, 6, name)
        }
    }

    func testEveryTruncationAndEveryByteFlipIsHandled() throws {
        let good = try fixture("interlaced-rgba")
        let expected = try decode(good)
        for n in 0..<good.count {
            XCTAssertNotNil(failure({ try self.decode(Array(good.prefix(n))) }), "prefix \(n)")
        }
        // A flipped bit is caught by a CRC, or lands in a chunk name or length; a decode that
        // still succeeds must have the declared size.
        for i in 0..<good.count {
            for bit in [0, 7] {
                var bytes = good
                bytes[i] ^= 1 << bit
                if let image = try? decode(bytes) {
                    XCTAssertEqual(image.pixels.count, image.width * image.height * 3, "byte \(i)")
                    if i >= 33 { XCTAssertEqual(image.width, expected.width, "byte \(i)") }
                }
            }
        }
    }

    func testFileErrorsNameThePath() throws {
        let missing = "/nonexistent/ponder/missing.png"
        let error = failure({ try PNGReader.read(path: missing) })
        XCTAssertEqual(error?.kind, .io)
        XCTAssertTrue(error?.message.contains(missing) ?? false, error?.message ?? "")
        let directory = failure({ try PNGReader.read(path: Self.fixtures.path) })
        XCTAssertEqual(directory?.kind, .io)
        XCTAssertTrue(directory?.message.contains(Self.fixtures.path) ?? false, directory?.message ?? "")
        let bad = Self.fixtures.appendingPathComponent("hostile-garbage").path
        let decodeError = failure({ try PNGReader.read(path: bad) })
        XCTAssertTrue(decodeError?.message.hasPrefix("PNG: not a PNG") ?? false)
        XCTAssertTrue(decodeError?.message.hasSuffix("in '\(bad)'") ?? false, decodeError?.message ?? "")
    }

    func testRGBImageValidatesSizesAndBuffers() throws {
        let image = try RGBImage(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(image.pixels, [1, 2, 3, 4, 5, 6])  // the first width×height×3 bytes
        let short = failure({ try RGBImage(width: 2, height: 2, pixels: [1, 2, 3]) })
        XCTAssertEqual(short?.kind, .bufferTooSmall)
        XCTAssertTrue(short?.message.contains("3 bytes") ?? false && short?.message.contains("12") ?? false, short?.message ?? "")
        for (w, h) in [(0, 1), (1, 0), (-1, 5), (PNGWriter.maxSide + 1, 1)] {
            let error = failure({ try RGBImage(width: w, height: h, pixels: []) })
            XCTAssertEqual(error?.kind, .invalidArgument)
            XCTAssertTrue(error?.message.contains("\(w)×\(h)") ?? false, error?.message ?? "")
        }
        let bytes: [UInt8] = [9, 8, 7, 6, 5, 4]
        let copied = try bytes.withUnsafeBytes { try RGBImage(rgb: $0, width: 1, height: 2) }
        XCTAssertEqual(copied.pixels, bytes)
        XCTAssertEqual(failure({ try bytes.withUnsafeBytes { try RGBImage(rgb: $0, width: 2, height: 2) } })?.kind, .bufferTooSmall)
        XCTAssertNotNil(failure({ try RGBImage(rgb: UnsafeRawBufferPointer(start: nil, count: 0), width: 1, height: 1) }))
    }
}
