import ArgumentParser
import PonderCore
#if canImport(Glibc)
import Glibc
#endif

@main
struct PonderCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ponder",
        abstract: "Ponder: a thinking image model. Plans a picture from a prompt, then draws it.",
        subcommands: [Generate.self, Describe.self, Info.self],
        defaultSubcommand: Generate.self)
}

/// The model path: --model, else $PONDER_MODEL, else the default model in ./models.
func resolveModel(_ path: String?) -> String {
    if let path { return path }
    if let env = getenv("PONDER_MODEL") { return String(cString: env) }
    return "models/ponder-shapes-q8_0.gguf"
}

func fail(_ message: String) -> ExitCode {
    fputs("ponder: \(message)\n", stderr)
    return ExitCode.failure
}

func readFile(_ path: String) throws -> String {
    guard let f = fopen(path, "rb") else {
        throw PonderError(.io, "cannot open '\(path)': \(String(cString: strerror(errno)))")
    }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n == 0 { break }
        bytes += chunk[0..<n]
        guard bytes.count <= 1 << 20 else { throw PonderError(.io, "'\(path)' is too large for a plan") }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Whole or not at all, as the library writes PNGs (AtomicFile).
func writeFile(_ path: String, _ text: String) throws {
    try AtomicFile.write(Array(text.utf8), to: path)
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate an image from a prompt.")

    @Argument(help: "The prompt, e.g. \"a red circle to the left of a blue square\".")
    var prompt: String

    @Option(name: .shortAndLong, help: "Output PNG file.")
    var output: String = "out.png"

    @Option(help: "Random seed; the same seed gives the same image.")
    var seed: UInt64 = 0

    @Flag(name: .customLong("no-think"), help: "Draw directly, without writing a plan first.")
    var noThink = false

    @Option(help: "Classifier-free guidance scale (1 = off; default: the model's).")
    var cfg: Float?

    @Option(help: "Sampling temperature (0 = greedy).")
    var temperature: Float = 1.0

    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 = off).")
    var topK: Int = 0

    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold (1 = off).")
    var topP: Float = 1.0

    @Option(name: .customLong("plan-attempts"),
            help: "Plans written at most: each is checked against the prompt until one satisfies it (1 = keep the first).")
    var planAttempts: Int = SessionParameters().planAttempts

    @Option(name: .customLong("check"),
            help: "Checked drawing: read the image back at most N times, redrawing wrong objects between reads (0 = off).")
    var check: Int = SessionParameters.defaultCheckAttempts

    @Option(help: "Worker threads (0 = one per processor, at most 8).")
    var threads: Int = 0

    @Option(name: .customLong("plan-out"), help: "Also write the plan to this file.")
    var planOut: String?

    @Option(name: .customLong("plan-in"), help: "Draw from this plan (docs/plan.md) instead of thinking.")
    var planIn: String?

    @Option(help: "Model file (default: $PONDER_MODEL or models/ponder-shapes-q8_0.gguf).")
    var model: String?

    @Flag(name: .shortAndLong, help: "No progress bar.")
    var quiet = false

    func run() throws {
        do {
            let m = try Model(path: resolveModel(model))
            var p = SessionParameters()
            p.seed = seed
            p.think = !noThink && planIn == nil
            p.cfgScale = cfg
            p.temperature = temperature
            p.topK = topK
            p.topP = topP
            p.threads = threads
            p.planAttempts = planAttempts
            p.checkAttempts = check
            let session = try Session(model: m, parameters: p)
            try session.plan(prompt: prompt)
            if let planIn { try session.setPlan(try readFile(planIn)) }
            if let plan = session.plan {
                print(plan.text)
                fflush(stdout)
                if let planOut { try writeFile(planOut, plan.text + "\n") }
            } else if planOut != nil {
                fputs("ponder: no plan to write (thinking is off)\n", stderr)
            }
            var remaining = session.totalTokens
            while remaining > 0 {
                let r = try session.step(8)
                remaining = r.remaining
                if !quiet { progress(r.done, r.done + r.remaining) }
            }
            if !quiet {
                fputs("\n", stderr)
                if session.checksUsed > 0 {
                    fputs("checked \(session.checksUsed) time(s), redrew \(session.redrawsUsed) time(s)\n", stderr)
                }
            }
            let rgb = try session.decode()
            try rgb.withUnsafeBytes {
                try PNGWriter.write(rgb: $0, width: session.imageWidth, height: session.imageHeight, path: output)
            }
            fputs("wrote \(output)\n", stderr)
        } catch let e as PonderError {
            throw fail(e.message)
        }
    }

    func progress(_ done: Int, _ total: Int) {
        let width = 32
        let filled = total > 0 ? done * width / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        fputs("\rdrawing [\(bar)] \(done)/\(total)", stderr)
    }
}

struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a picture back into a plan (image → plan).",
        discussion: "The picture must be a PNG of the model's size (128 × 128 for the default model); scale it first, e.g. `convert in.png -resize 128x128! out.png`.")

    @Argument(help: "A PNG file of the model's size.")
    var image: String

    @Option(name: .customLong("plan-out"), help: "Also write the plan to this file.")
    var planOut: String?

    @Option(help: "Worker threads (0 = one per processor, at most 8).")
    var threads: Int = 0

    @Option(help: "Model file (default: $PONDER_MODEL or models/ponder-shapes-q8_0.gguf).")
    var model: String?

    func run() throws {
        do {
            let m = try Model(path: resolveModel(model))
            var p = SessionParameters()
            p.threads = threads
            let session = try Session(model: m, parameters: p)
            try session.setImage(try PNGReader.read(path: image))
            let plan = try session.describe()
            print(plan.text)
            if let planOut { try writeFile(planOut, plan.text + "\n") }
        } catch let e as PonderError {
            throw fail(e.message)
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a model's facts.")

    @Option(help: "Model file (default: $PONDER_MODEL or models/ponder-shapes-q8_0.gguf).")
    var model: String?

    func run() throws {
        do {
            let m = try Model(path: resolveModel(model))
            let hp = m.hyperParameters
            print("""
            model:        \(m.file.path)
            parameters:   \(m.parameterCount)
            transformer:  \(hp.layers) layers, dim \(hp.dim), \(hp.heads) heads (\(hp.kvHeads) kv), ffn \(hp.ffnDim), context \(hp.contextLength)
            vocabulary:   \(hp.vocabSize) tokens (\(m.vocabulary.imageCodeOffset) words, \(hp.codebookSize) image codes)
            image:        \(hp.imageWidth)×\(hp.imageHeight) from a \(hp.gridWidth)×\(hp.gridHeight) token grid
            default cfg:  \(hp.defaultCFGScale)
            reads images: \(m.canReadImages ? "yes (image encoder)" : "no (no image encoder in the file)")
            """)
        } catch let e as PonderError {
            throw fail(e.message)
        }
    }
}
