import CPNG
#if canImport(Glibc)
import Glibc
#endif

/// An RGB8 image: row-major, no padding, `pixels.count == width * height * 3`.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public let pixels: [UInt8]

    /// Sides 1 to `PNGWriter.maxSide`; `pixels` holds at least width×height×3 bytes, of
    /// which the first width×height×3 are kept.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        try PNGWriter.check(width: width, height: height, bufferCount: pixels.count)
        let count = width * height * 3
        self.init(checkedWidth: width, height: height, pixels: pixels.count == count ? pixels : Array(pixels[..<count]))
    }

    /// Copies width×height×3 bytes from a caller's buffer (the C API's way in).
    public init(rgb: UnsafeRawBufferPointer, width: Int, height: Int) throws {
        try PNGWriter.check(width: width, height: height, bufferCount: rgb.count)
        guard rgb.baseAddress != nil else {
            throw PonderError.invalidArgument("RGB buffer is NULL; a \(width)×\(height) image needs \(width * height * 3) bytes")
        }
        self.init(checkedWidth: width, height: height, pixels: Array(rgb.prefix(width * height * 3)))
    }

    init(checkedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// PNG input through libpng's simplified read API (libpng's longjmp stays inside libpng, so
/// a failure is a status). Before libpng sees the bytes, a bounds-checked chunk scan refuses
/// oversized or impossible images, reads bKGD (which the simplified API ignores) and drops
/// every ancillary chunk the decode does not need, so libpng never inflates text or ICC data.
public enum PNGReader {
    /// The most pixels a decoded image may have (8192×8192). The largest buffer is then the
    /// RGBA8 one for images with alpha, 256 MiB; a header asking for more is refused before
    /// anything is allocated.
    public static let maxPixels = 1 << 26
    /// The largest file `read(path:)` loads: far above any image within `maxPixels`, even
    /// stored uncompressed at 16-bit RGBA.
    public static let maxFileBytes = 1 << 30
    /// Deflate's largest expansion (a 258-byte match in 2 bits): image data cannot inflate to
    /// more bytes than this per compressed byte, so a header whose pixels could not fit in
    /// its IDAT bytes is refused before the pixel buffer exists.
    static let maxDeflateRatio = 1032

    /// Decodes a PNG held in memory to RGB8; alpha is composited onto the bKGD colour, else white.
    public static func decode(_ png: UnsafeRawBufferPointer) throws -> RGBImage {
        let scan = try Scan(png)
        if let kept = scan.kept {
            return try kept.withUnsafeBytes { try decode(scan, $0) }
        }
        return try decode(scan, png)
    }

    /// Reads and decodes the PNG file at `path`.
    public static func read(path: String) throws -> RGBImage {
        let bytes = try load(path)
        do {
            return try bytes.withUnsafeBytes { try decode($0) }
        } catch let error as PonderError {
            throw PonderError(error.kind, "\(error.message) in '\(path)'")
        }
    }

    static func load(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw PonderError(.io, "cannot open '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var info = stat()
        if fstat(fileno(file), &info) == 0, info.st_size > 0 {
            bytes.reserveCapacity(min(Int(info.st_size), maxFileBytes))
        }
        var block = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = block.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            guard bytes.count + n <= maxFileBytes else {
                throw PonderError.invalidArgument("PNG: '\(path)' is larger than \(maxFileBytes) bytes")
            }
            bytes.append(contentsOf: block[..<n])
            // A stream that is no PNG (/dev/zero, a FIFO) is refused at its first bytes, not
            // after a gigabyte.
            if bytes.count >= 8 && bytes.count == n && !bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
                throw PonderError.invalidArgument("PNG: not a PNG (no PNG signature) in '\(path)'")
            }
            if n < block.count {
                if ferror(file) != 0 {
                    throw PonderError(.io, "cannot read '\(path)': \(String(cString: strerror(errno)))")
                }
                return bytes
            }
        }
    }

    private static func decode(_ scan: Scan, _ png: UnsafeRawBufferPointer) throws -> RGBImage {
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        guard png_image_begin_read_from_memory(&image, png.baseAddress, png.count) != 0 else {
            throw PonderError.invalidArgument("PNG: \(message(&image))")  // libpng freed the image
        }
        // Same IHDR as the scan read; checked again so the buffer below is never sized by libpng alone.
        guard Int(image.width) == scan.width, Int(image.height) == scan.height else {
            png_image_free(&image)
            throw PonderError(.internal, "PNG: libpng read \(image.width)×\(image.height), the header says \(scan.width)×\(scan.height)")
        }
        let alpha = image.format & png_uint_32(PNG_FORMAT_FLAG_ALPHA) != 0
        let channels = alpha ? 4 : 3
        image.format = png_uint_32(PNG_FORMAT_RGB) | (alpha ? png_uint_32(PNG_FORMAT_FLAG_ALPHA) : 0)
        // Without this libpng takes 16-bit samples as linear and re-encodes them to sRGB;
        // the PNG convention (and ours) is v16 → round(v16/257).
        image.flags |= png_uint_32(PNG_IMAGE_FLAG_16BIT_sRGB)
        let pixels = scan.width * scan.height
        var buffer = [UInt8](repeating: 0, count: pixels * channels)
        let ok = buffer.withUnsafeMutableBytes {
            png_image_finish_read(&image, nil, $0.baseAddress, Int32(scan.width * channels), nil)
        }
        guard ok != 0 else { throw PonderError.invalidArgument("PNG: \(message(&image))") }
        if alpha {
            // Composited here in 8-bit sRGB, as viewers do: given a background, libpng blends
            // in linear light, which no PNG viewer's flattening matches.
            let (r, g, b) = scan.background
            buffer.withUnsafeMutableBufferPointer { p in
                for i in 0..<pixels {
                    let a = UInt32(p[4 * i + 3]), na = 255 - a
                    p[3 * i] = UInt8((UInt32(p[4 * i]) * a + UInt32(r) * na + 127) / 255)
                    p[3 * i + 1] = UInt8((UInt32(p[4 * i + 1]) * a + UInt32(g) * na + 127) / 255)
                    p[3 * i + 2] = UInt8((UInt32(p[4 * i + 2]) * a + UInt32(b) * na + 127) / 255)
                }
            }
            buffer.removeLast(pixels)
        }
        return RGBImage(checkedWidth: scan.width, height: scan.height, pixels: buffer)
    }

    private static func message(_ image: inout png_image) -> String {
        let text = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return text.isEmpty ? "libpng could not decode the image" : text
    }

    /// What the reader learns from the chunk layout before libpng runs.
    struct Scan {
        var width = 0, height = 0
        /// bKGD as 8-bit RGB, else white.
        var background: (UInt8, UInt8, UInt8) = (255, 255, 255)
        /// The PNG without the ancillary chunks libpng need not see; nil when nothing was dropped.
        var kept: [UInt8]?

        private static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        // The ancillary chunks that change decoded pixels; tRNS, gAMA, cHRM, sRGB and sBIT go to libpng.
        private static let passed: Set<UInt32> = [tag("tRNS"), tag("gAMA"), tag("cHRM"), tag("sRGB"), tag("sBIT")]

        static func tag(_ s: StaticString) -> UInt32 {
            s.withUTF8Buffer { $0.reduce(0) { $0 << 8 | UInt32($1) } }
        }

        static func name(_ type: UInt32) -> String {
            let bytes = (0..<4).map { UInt8(truncatingIfNeeded: type >> (24 - 8 * $0)) }
            guard bytes.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
                return "0x" + String(type, radix: 16)
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        init(_ png: UnsafeRawBufferPointer) throws {
            let count = png.count
            guard count >= 8, zip(png.prefix(8), Scan.signature).allSatisfy({ $0 == $1 }) else {
                throw PonderError.invalidArgument("PNG: not a PNG (no PNG signature in the first 8 of \(count) bytes)")
            }
            func be32(_ at: Int) -> UInt32 {
                UInt32(png[at]) << 24 | UInt32(png[at + 1]) << 16 | UInt32(png[at + 2]) << 8 | UInt32(png[at + 3])
            }
            func be16(_ at: Int) -> Int { Int(png[at]) << 8 | Int(png[at + 1]) }

            var pos = 8
            var depth = 0, colourType = 0
            var idatBytes = 0
            var idatState = 0  // 0 none yet, 1 in the IDAT run, 2 after it
            var palette: Range<Int>?
            var bkgd: Range<Int>?
            var dropped: [Range<Int>] = []
            while true {
                guard count - pos >= 12 else {
                    throw PonderError.invalidArgument("PNG: truncated data (\(count) bytes end inside a chunk header at byte \(pos))")
                }
                let length = Int(be32(pos)), type = be32(pos + 4)
                guard length <= Int(Int32.max) else {
                    throw PonderError.invalidArgument("PNG: chunk '\(Scan.name(type))' at byte \(pos) declares \(length) bytes, over the PNG limit of 2^31-1")
                }
                guard length <= count - pos - 12 else {
                    throw PonderError.invalidArgument("PNG: truncated data (chunk '\(Scan.name(type))' at byte \(pos) declares \(length) bytes; \(count - pos - 12) remain)")
                }
                let data = pos + 8 ..< pos + 8 + length
                if pos == 8 {
                    guard type == Scan.tag("IHDR"), length == 13 else {
                        throw PonderError.invalidArgument("PNG: the first chunk is '\(Scan.name(type))' of \(length) bytes, not a 13-byte IHDR")
                    }
                    let w = Int(be32(data.lowerBound)), h = Int(be32(data.lowerBound + 4))
                    guard w >= 1, h >= 1, w <= PNGWriter.maxSide, h <= PNGWriter.maxSide else {
                        throw PonderError.invalidArgument("PNG: image size \(w)×\(h) is out of range (1 to \(PNGWriter.maxSide) per side)")
                    }
                    guard w * h <= PNGReader.maxPixels else {
                        throw PonderError.invalidArgument("PNG: image size \(w)×\(h) has \(w * h) pixels, over the limit of \(PNGReader.maxPixels)")
                    }
                    (width, height) = (w, h)
                    depth = Int(png[data.lowerBound + 8])
                    colourType = Int(png[data.lowerBound + 9])
                }
                if type == Scan.tag("IDAT") {
                    guard idatState != 2 else {
                        throw PonderError.invalidArgument("PNG: IDAT chunks are not consecutive (another chunk at byte \(pos) splits them)")
                    }
                    idatState = 1
                    idatBytes += length
                } else if idatState == 1 {
                    idatState = 2
                }
                if type == Scan.tag("PLTE"), palette == nil, idatState == 0 { palette = data }
                // libpng's rules: the first bKGD before IDAT, after PLTE, with a good CRC.
                if type == Scan.tag("bKGD"), bkgd == nil, idatState == 0, colourType != 3 || palette != nil,
                   crc32(UnsafeRawBufferPointer(rebasing: png[pos + 4 ..< data.upperBound])) == be32(data.upperBound) {
                    bkgd = data
                }
                if type & 0x2000_0000 != 0, !Scan.passed.contains(type) {  // ancillary bit
                    dropped.append(pos ..< data.upperBound + 4)
                }
                pos = data.upperBound + 4
                if type == Scan.tag("IEND") { break }
            }

            let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colourType] ?? 1
            let minimumRaw = width * height * channels * max(depth, 1) / 8
            guard idatBytes * PNGReader.maxDeflateRatio + 1024 >= minimumRaw else {
                throw PonderError.invalidArgument("PNG: too little image data (\(idatBytes) compressed bytes cannot hold the \(minimumRaw) bytes of a \(width)×\(height) image)")
            }

            if let bkgd {
                background = Scan.background(png, bkgd, palette: palette, depth: depth, colourType: colourType) ?? background
            }
            if !dropped.isEmpty {
                var kept = [UInt8]()
                kept.reserveCapacity(count)
                var from = 0
                for range in dropped {
                    kept.append(contentsOf: png[from ..< range.lowerBound])
                    from = range.upperBound
                }
                kept.append(contentsOf: png[from ..< pos])
                self.kept = kept
            }
        }

        /// bKGD in 8-bit RGB, or nil where libpng would ignore the chunk (bad length, index or value).
        private static func background(_ png: UnsafeRawBufferPointer, _ data: Range<Int>, palette: Range<Int>?,
                                       depth: Int, colourType: Int) -> (UInt8, UInt8, UInt8)? {
            let at = data.lowerBound
            func sample(_ i: Int) -> UInt8? {
                let v = Int(png[at + 2 * i]) << 8 | Int(png[at + 2 * i + 1])
                switch depth {
                case 16: return UInt8((v * 255 + 32895) >> 16)  // round(v/257), as libpng scales
                case 1, 2, 4, 8: return v < 1 << depth ? UInt8(v * 255 / (1 << depth - 1)) : nil
                default: return nil
                }
            }
            switch (colourType, data.count) {
            case (3, 1):
                guard let palette, Int(png[at]) < palette.count / 3 else { return nil }
                let p = palette.lowerBound + 3 * Int(png[at])
                return (png[p], png[p + 1], png[p + 2])
            case (0, 2), (4, 2):
                guard let v = sample(0) else { return nil }
                return (v, v, v)
            case (2, 6), (6, 6):
                guard let r = sample(0), let g = sample(1), let b = sample(2) else { return nil }
                return (r, g, b)
            default:
                return nil
            }
        }
    }

    private static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
