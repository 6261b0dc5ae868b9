// What each fuzz target does with one input: shared by the libFuzzer harness
// (Tests/Fuzz/Harness.swift, built by scripts/fuzz into one binary with the parsers' sources)
// and by FuzzCorpusTests, which replays every committed input in the ordinary test run.
#if !PONDER_FUZZ_BUILD
@testable import PonderCore
#endif

enum FuzzTargets {
    static let names = ["gguf", "prompt", "plan"]

    /// Feeds `bytes` to the target's parser. Errors are the expected outcome of most inputs;
    /// a crash, a trap or a sanitizer report is what the fuzzer looks for.
    static func run(_ target: String, _ bytes: UnsafeRawBufferPointer) {
        switch target {
        case "gguf":
            _ = try? GGUFFile.validate(bytes)
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
