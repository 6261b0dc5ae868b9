// What each fuzz target does with one input: shared by the libFuzzer harness
// (Tests/Fuzz/Harness.swift, built by scripts/fuzz into one binary with the parsers' sources)
// and by FuzzCorpusTests, which replays every committed input in the ordinary test run.
#if !PONDER_FUZZ_BUILD
@testable import PonderCore
#endif

enum FuzzTargets {
    static let names = ["gguf", "model", "prompt", "plan", "png"]

    /// Feeds `bytes` to the target's parser. Errors are the expected outcome of most inputs;
    /// a crash, a trap or a sanitizer report is what the fuzzer looks for.
    static func run(_ target: String, _ bytes: UnsafeRawBufferPointer) {
        switch target {
        case "gguf":
            _ = try? GGUFFile.validate(bytes)
        case "model":
            // The whole load: the container, then hyperparameters, tensor roles and the
            // decoder's layer list; a model that loads must also decode a grid.
            guard let file = try? GGUFFile(bytes: bytes), let model = try? Model(file: file) else { return }
            let hp = model.hyperParameters
            guard hp.imageWidth * hp.imageHeight <= 256 * 256 else { return }  // keep executions fast
            var rgb = [UInt8](repeating: 0, count: hp.imageWidth * hp.imageHeight * 3)
            let codes = (0..<hp.imageTokens).map { Int32($0 % hp.codebookSize) }
            rgb.withUnsafeMutableBufferPointer { _ = try? model.decoder.decode(codes: codes, into: $0.baseAddress!) }
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
        case "prompt":
            _ = try? Prompt(String(decoding: bytes, as: UTF8.self))
        case "plan":
            if let plan = try? Plan(text: String(decoding: bytes, as: UTF8.self)) {
                _ = plan.text  // a plan that parses must print
            }
        default:
            break
        }
    }
}
