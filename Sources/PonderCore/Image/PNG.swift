import CPNG
#if canImport(Glibc)
import Glibc
#endif

/// PNG output through libpng's simplified write API, which reports errors as return values
/// (libpng's longjmp stays inside libpng), so a failure is a status, never an abort.
public enum PNGWriter {
    /// The largest side accepted; keeps every size computation far from overflow.
    public static let maxSide = 1 << 15

    static func check(width: Int, height: Int, bufferCount: Int) throws {
        guard width >= 1, height >= 1, width <= maxSide, height <= maxSide else {
            throw PonderError.invalidArgument("image size \(width)×\(height) is out of range (1 to \(maxSide) per side)")
        }
        guard bufferCount >= width * height * 3 else {
            throw PonderError(.bufferTooSmall, "RGB buffer holds \(bufferCount) bytes; a \(width)×\(height) image needs \(width * height * 3)")
        }
    }

    private static func image(width: Int, height: Int) -> png_image {
        var img = png_image()
        img.version = png_uint_32(PNG_IMAGE_VERSION)
        img.width = png_uint_32(width)
        img.height = png_uint_32(height)
        img.format = png_uint_32(PNG_FORMAT_RGB)
        return img
    }

    private static func failure(_ img: inout png_image) -> String {
        withUnsafeBytes(of: &img.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Encodes RGB8 pixels (row-major, no padding) as PNG bytes.
    public static func encode(rgb: UnsafeRawBufferPointer, width: Int, height: Int) throws -> [UInt8] {
        try check(width: width, height: height, bufferCount: rgb.count)
        var img = image(width: width, height: height)
        var size = 0
        // First call measures, second writes.
        guard png_image_write_to_memory(&img, nil, &size, 0, rgb.baseAddress, Int32(width * 3), nil) != 0 else {
            let message = failure(&img)
            png_image_free(&img)
            throw PonderError(.internal, "libpng could not encode the image: \(message)")
        }
        var out = [UInt8](repeating: 0, count: size)
        var written = size
        var img2 = image(width: width, height: height)
        let ok = out.withUnsafeMutableBytes { buf in
            png_image_write_to_memory(&img2, buf.baseAddress, &written, 0, rgb.baseAddress, Int32(width * 3), nil)
        }
        guard ok != 0 else {
            let message = failure(&img2)
            png_image_free(&img2)
            throw PonderError(.internal, "libpng could not encode the image: \(message)")
        }
        out.removeLast(size - min(size, written))
        return out
    }

    /// Writes RGB8 pixels to a PNG file at `path`, whole or not at all (AtomicFile): a write
    /// that fails leaves the file that was there.
    public static func write(rgb: UnsafeRawBufferPointer, width: Int, height: Int, path: String) throws {
        try AtomicFile.write(try encode(rgb: rgb, width: width, height: height), to: path)
    }
}
