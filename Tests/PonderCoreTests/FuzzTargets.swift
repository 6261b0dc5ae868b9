// What each fuzz target does with one input: shared by the libFuzzer harness
// (Tests/Fuzz/Harness.swift, built by scripts/fuzz into one binary with the parsers' sources)
// and by FuzzCorpusTests, which replays every committed input in the ordinary test run.
#if !PONDER_FUZZ_BUILD
@testable import PonderCore
#endif

enum FuzzTargets {
    static let names = ["gguf", "model", "prompt", "plan", "png", "pngread", "phrase"]

    /// Feeds `bytes` to the target's parser. Errors are the expected outcome of most inputs;
    /// a crash, a trap or a sanitizer report is what the fuzzer looks for.
    static func run(_ target: String, _ bytes: UnsafeRawBufferPointer) {
        switch target {
        case "gguf":
            _ = try? GGUFFile.validate(bytes)
        case "model":
            // The whole load: the container, then hyperparameters, tensor roles and the
            // decoder's and encoder's layer lists; a model that loads must also decode a grid
            // and, with an encoder, encode the picture back.
            guard let file = try? GGUFFile(bytes: bytes), let model = try? Model(file: file) else { return }
            let hp = model.hyperParameters
            guard hp.imageWidth * hp.imageHeight <= 256 * 256 else { return }  // keep executions fast
            var rgb = [UInt8](repeating: 0, count: hp.imageWidth * hp.imageHeight * 3)
            let codes = (0..<hp.imageTokens).map { Int32($0 % hp.codebookSize) }
            rgb.withUnsafeMutableBufferPointer { _ = try? model.decoder.decode(codes: codes, into: $0.baseAddress!) }
            if let encoder = model.encoder, let back = try? rgb.withUnsafeBufferPointer({ try encoder.encode(rgb: $0.baseAddress!) }) {
                guard back.count == hp.imageTokens, back.allSatisfy({ $0 >= 0 && Int($0) < hp.codebookSize }) else {
                    fatalError("the encoder returned \(back.count) codes, or codes outside the codebook")
                }
            }
        case "png":
            // Two signed 16-bit sides, then the pixels: sizes may be anything a caller passes.
            guard bytes.count >= 4 else { return }
            let width = Int(Int16(bitPattern: UInt16(bytes[0]) | UInt16(bytes[1]) << 8))
            let height = Int(Int16(bitPattern: UInt16(bytes[2]) | UInt16(bytes[3]) << 8))
            let pixels = UnsafeRawBufferPointer(rebasing: bytes[4...])
            guard let png = try? PNGWriter.encode(rgb: pixels, width: width, height: height) else { return }
            // An encoded image must be a PNG: the signature, then the header chunk.
            guard png.count > 16, png[0] == 0x89, png[1] == 0x50, png[12] == 0x49, png[13] == 0x48 else {
                fatalError("PNGWriter returned \(png.count) bytes that are not a PNG")
            }
        case "pngread":
            // Any bytes: an error is fine; a decoded image must hold exactly its pixels. Then
            // again with every chunk's CRC made right, or libpng stops nearly every mutation
            // at a CRC error (libpng has no coverage instrumentation to steer past it).
            decodePNG(bytes)
            var fixed = [UInt8](bytes)
            var pos = 8
            while fixed.count - pos >= 12 {
                let length = Int(fixed[pos]) << 24 | Int(fixed[pos + 1]) << 16 | Int(fixed[pos + 2]) << 8 | Int(fixed[pos + 3])
                guard length <= fixed.count - pos - 12 else { break }
                let crc = fixed.withUnsafeBytes { PNGReader.crc32(UnsafeRawBufferPointer(rebasing: $0[pos + 4 ..< pos + 8 + length])) }
                for i in 0..<4 { fixed[pos + 8 + length + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * i)) }
                pos += 12 + length
            }
            if !fixed.elementsEqual(bytes) { fixed.withUnsafeBytes { decodePNG($0) } }
        case "prompt":
            _ = try? Prompt(String(decoding: bytes, as: UTF8.self))
        case "phrase":
            // An edit's phrase against one of a few pictures' plans (the first byte picks
            // which), and the same text as a canvas plan.
            guard let first = bytes.first else { return }
            let o = { (shape: Int, colour: Int, size: Int, x: Int, y: Int) in Plan.Object(shape: shape, colour: colour, size: size, x: x, y: y) }
            let pictures = [
                Plan(background: 0, objects: []),
                Plan(background: 1, objects: [o(0, 0, 1, 32, 64), o(1, 4, 1, 96, 64)]),
                Plan(background: 0, objects: [o(0, 0, 0, 20, 20), o(0, 0, 0, 100, 20), o(4, 3, 0, 20, 100), o(7, 6, 0, 100, 100)]),
            ]
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes.dropFirst()), as: UTF8.self)
            if let request = try? PhraseRequest(text, picture: pictures[Int(first) % pictures.count]) {
                guard World.shapes.indices.contains(request.object.shape), request.prompt.objects.count >= 1 else {
                    fatalError("a phrase request without a valid object")
                }
            }
            _ = try? Canvas.plan(text: text)
        case "plan":
            if let plan = try? Plan(text: String(decoding: bytes, as: UTF8.self)) {
                _ = plan.text  // a plan that parses must print
            }
        default:
            break
        }
    }

    static func decodePNG(_ bytes: UnsafeRawBufferPointer) {
        guard let image = try? PNGReader.decode(bytes) else { return }
        guard image.width >= 1, image.height >= 1, image.pixels.count == image.width * image.height * 3 else {
            fatalError("PNGReader returned \(image.pixels.count) bytes for \(image.width)×\(image.height)")
        }
    }
}
