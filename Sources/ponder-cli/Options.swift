import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import PonderCore

/// A seed as given on the command line: a number from 0 to 2^64 − 1, or `random` (also -1,
/// as llama.cpp and stable-diffusion.cpp take it) for one drawn from the system's random
/// source, which the command prints so the image can be made again.
enum SeedChoice: ExpressibleByArgument, Equatable {
    case fixed(UInt64)
    case random

    /// Random seeds are kept below 2^32: short enough to copy from the terminal.
    static let randomRange: ClosedRange<UInt64> = 0...0xFFFF_FFFF

    init?(argument: String) {
        if argument == "random" || argument == "-1" { self = .random }
        else if let n = UInt64(argument) { self = .fixed(n) }
        else { return nil }
    }

    var defaultValueDescription: String {
        if case .fixed(let n) = self { return String(n) }
        return "random"
    }

    /// The seed to draw from: the given one, or a fresh random one.
    func resolve() -> UInt64 {
        if case .fixed(let n) = self { return n }
        return UInt64.random(in: SeedChoice.randomRange)
    }
}

/// Drawing options that every subcommand which draws shares. Numbers take the next argument
/// whatever it looks like, so `--seed -1` or `--cfg -2` reach the check that says what is
/// allowed instead of being read as flags.
struct DrawingOptions: ParsableArguments {
    @Option(parsing: .unconditional,
            help: "Random seed, 0 to 2^64-1; the same seed gives the same image. 'random' (or -1) draws one and prints it.")
    var seed: SeedChoice = .fixed(0)

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Classifier-free guidance scale (1 = off; default: the model's, which `ponder info` shows). \(DrawingOptions.cfgRange)"))
    var cfg: Float?

    @Option(parsing: .unconditional, help: "Sampling temperature (0 = greedy).")
    var temperature: Float = SessionParameters().temperature

    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Keep the k most likely tokens (0 = off).")
    var topK: Int = SessionParameters().topK

    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Nucleus sampling threshold (1 = off).")
    var topP: Float = SessionParameters().topP

    @Option(parsing: .unconditional, help: "Worker threads (0 = one per processor, at most 8).")
    var threads: Int = SessionParameters().threads

    /// Measured with training/guidance_sweep.py on the default model (docs/results.md, "Guidance scale").
    static let cfgRange = "Useful range: 1 to 1.5 (the default model, docs/results.md \"Guidance scale\"); at 2 fewer prompts come out right, and from 3 it draws stray objects."

    /// The session parameters these options ask for, drawing from `seed`.
    func parameters(seed: UInt64) -> SessionParameters {
        var p = SessionParameters()
        p.seed = seed
        p.cfgScale = cfg
        p.temperature = temperature
        p.topK = topK
        p.topP = topP
        p.threads = threads
        return p
    }
}

/// Where drawn images go: `-o` and `-n`. With `-n N` the images are drawn from seeds
/// seed … seed+N−1 and each file is named with its seed before the extension
/// (`-o out.png --seed 7 -n 2` writes out-7.png and out-8.png), so each can be made again.
struct ImageOutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Output PNG file (must end in .png; with -n N, the seed goes before the extension: out-7.png).")
    var output: String = "out.png"

    @Option(name: [.customShort("n"), .customLong("count")], parsing: .unconditional,
            help: "Images to draw, from seeds seed … seed+N-1 (1 to \(ImageOutputOptions.maxCount)).")
    var count: Int = 1

    static let maxCount = 10_000

    func validate() throws {
        try OutputPath.check(image: output, option: "-o")
        guard (1...ImageOutputOptions.maxCount).contains(count) else {
            throw ValidationError("-n \(count) is out of range (1 to \(ImageOutputOptions.maxCount))")
        }
    }

    /// The seeds to draw from, starting at `first`; throws when they would pass 2^64 − 1.
    func seeds(from first: UInt64) throws -> [UInt64] {
        guard UInt64(count - 1) <= UInt64.max - first else {
            throw PonderError(.invalidArgument, "-n \(count) from seed \(first) passes the largest seed, 2^64-1")
        }
        return (0..<UInt64(count)).map { first + $0 }
    }

    /// The file for the image drawn from `seed`.
    func path(seed: UInt64) -> String { count == 1 ? output : OutputPath.numbered(output, seed) }
}

/// Checks of the files the CLI writes: each path's extension must fit what is written.
enum OutputPath {
    /// Extensions of files that are not text: a plan must not be written under one.
    static let binaryExtensions: Set<String> = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff", "gguf"]

    /// The extension of the path's last component, lower case; nil without one.
    static func pathExtension(_ path: String) -> String? {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return nil }
        let ext = name[name.index(after: dot)...]
        return ext.isEmpty ? nil : String(ext.lowercased())
    }

    /// The CLI writes PNG images only: any other extension (or none) is an error, so that
    /// `-o out.jpg` cannot leave PNG bytes under a JPEG name.
    static func check(image path: String, option: String) throws {
        try notADirectory(path, option: option)
        guard pathExtension(path) == "png" else {
            throw ValidationError("\(option) '\(PonderError.visible(path))': images are written as PNG only, so the name must end in .png (convert it afterwards for another format)")
        }
    }

    /// A plan is text: a name with an image or model extension is an error.
    static func check(plan path: String, option: String) throws {
        try notADirectory(path, option: option)
        if let ext = pathExtension(path), binaryExtensions.contains(ext) {
            throw ValidationError("\(option) '\(PonderError.visible(path))': a plan is text, not .\(ext); name it e.g. plan.txt")
        }
    }

    /// A file is written whole at the end of the work: a directory in its place is refused
    /// before any work starts, not after.
    static func notADirectory(_ path: String, option: String) throws {
        if isDirectory(path) {
            throw ValidationError("\(option) '\(PonderError.visible(path))' is a directory: give a file name")
        }
    }

    /// Whether `path` names an existing directory (links followed).
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// `path` with "-seed" before its extension: out.png, 7 → out-7.png.
    static func numbered(_ path: String, _ seed: UInt64) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        if let dot = path[slash...].lastIndex(of: "."), dot != slash {
            return String(path[..<dot]) + "-\(seed)" + String(path[dot...])
        }
        return path + "-\(seed)"
    }
}
