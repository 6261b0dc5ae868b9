// libFuzzer's entry point for Ponder's parsers; scripts/fuzz builds it with
// -sanitize=fuzzer,address together with the parsers' sources and FuzzTargets.swift.
// PONDER_FUZZ_TARGET (one of FuzzTargets.names) picks the target.
#if canImport(Glibc)
import Glibc
#endif

let fuzzTarget: String = {
    guard let name = getenv("PONDER_FUZZ_TARGET") else { return "gguf" }
    return String(cString: name)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func ponderFuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzTargets.run(fuzzTarget, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
