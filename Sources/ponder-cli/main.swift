import ArgumentParser
import PonderCore
#if canImport(Glibc)
import Glibc
#endif

struct PonderCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ponder",
        abstract: "Ponder: a thinking image model. Plans a picture from a prompt, then draws it.",
        subcommands: [Generate.self, Describe.self, Info.self],
        defaultSubcommand: Generate.self)

    /// ArgumentParser's own messages quote arguments as given; like the library's, they
    /// escape what cannot be seen (PonderError.visible), line by line since usage text spans
    /// lines. Help and version text is printed as it is.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            let message = fullMessage(for: error)
            if !message.isEmpty {
                let lines = message.split(separator: "\n", omittingEmptySubsequences: false)
                fputs(lines.map { PonderError.visible(String($0)) }.joined(separator: "\n") + "\n", stderr)
            }
            Glibc.exit(code.rawValue)
        }
    }
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

func writeFile(_ path: String, _ text: String) throws {
    guard let f = fopen(path, "wb") else {
        throw PonderError(.io, "cannot write '\(path)': \(String(cString: strerror(errno)))")
    }
    let bytes = Array(text.utf8)
    let n = fwrite(bytes, 1, bytes.count, f)
    guard fclose(f) == 0, n == bytes.count else { throw PonderError(.io, "cannot write '\(path)'") }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate an image from a prompt.",
        discussion: "Prints the plan on standard output and, on standard error, each file written with its seed.")

    @Argument(help: "The prompt, e.g. \"a red circle to the left of a blue square\" (docs/world.md). Optional with --plan-in.")
    var prompt: String?

    @OptionGroup var image: ImageOutputOptions

    @OptionGroup var drawing: DrawingOptions

    @Flag(name: .customLong("no-think"), help: "Draw directly, without writing a plan first.")
    var noThink = false

    @Option(name: .customLong("plan-attempts"), parsing: .unconditional,
            help: "Plans written at most: each is checked against the prompt until one satisfies it (1 = keep the first).")
    var planAttempts: Int = SessionParameters().planAttempts

    @Option(name: .customLong("check"), parsing: .unconditional,
            help: "Checked drawing: read the image back at most N times, redrawing wrong objects between reads (0 = off).")
    var check: Int = SessionParameters.defaultCheckAttempts

    @Option(name: .customLong("plan-out"),
            help: "Also write the plan to this text file (with -n N, the seed goes before the extension: plan-7.txt).")
    var planOut: String?

    @Option(name: .customLong("plan-in"),
            help: "Draw from this plan (docs/plan.md) instead of thinking. A prompt given too is checked against it: a warning says when the plan does not satisfy it.")
    var planIn: String?

    @Option(help: "Model file (default: $PONDER_MODEL or models/ponder-shapes-q8_0.gguf).")
    var model: String?

    @Flag(name: .shortAndLong, help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard prompt != nil || planIn != nil else {
            throw ValidationError("give a prompt, or a plan with --plan-in")
        }
        if let planOut { try OutputPath.check(plan: planOut, option: "--plan-out") }
    }

    func run() throws {
        do {
            let first = drawing.seed.resolve()
            let seeds = try image.seeds(from: first)
            // A given plan is read and checked once, before any drawing.
            var planText: String?
            var promptText = prompt ?? ""
            if let planIn {
                let text = try readFile(planIn)
                let plan: Plan
                do { plan = try Plan(text: text) } catch let e as PonderError {
                    throw PonderError(e.kind, "'\(planIn)': \(e.message)")
                }
                if let prompt {
                    if !plan.satisfies(try Prompt(prompt)) {
                        fputs("ponder: warning: the plan in '\(PonderError.visible(planIn))' does not satisfy the prompt "
                              + "(docs/world.md, \"When an image is correct for a prompt\"); drawing the plan anyway\n", stderr)
                    }
                } else {
                    promptText = try plan.prompt().text
                }
                planText = text
            }
            let m = try Model(path: resolveModel(model))
            for seed in seeds {
                try draw(model: m, prompt: promptText, planText: planText, seed: seed, random: drawing.seed == .random)
            }
        } catch let e as PonderError {
            throw fail(e.message)
        }
    }

    /// Draws one image from `seed` and writes it (and its plan, with --plan-out).
    func draw(model m: Model, prompt: String, planText: String?, seed: UInt64, random: Bool) throws {
        var p = drawing.parameters(seed: seed)
        p.think = !noThink && planText == nil
        p.planAttempts = planAttempts
        p.checkAttempts = check
        let session = try Session(model: m, parameters: p)
        try session.plan(prompt: prompt)
        if let planText { try session.setPlan(planText) }
        if let plan = session.plan {
            print(plan.text)
            if image.count > 1 { print() }
            fflush(stdout)
            if let planOut {
                let path = image.count == 1 ? planOut : OutputPath.numbered(planOut, seed)
                try writeFile(path, plan.text + "\n")
            }
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
        let output = image.path(seed: seed)
        try rgb.withUnsafeBytes {
            try PNGWriter.write(rgb: $0, width: session.imageWidth, height: session.imageHeight, path: output)
        }
        let again = random ? "; drawn at random, --seed \(seed) draws it again" : ""
        fputs("wrote \(PonderError.visible(output)) (seed \(seed)\(again))\n", stderr)
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

    @Option(parsing: .unconditional, help: "Worker threads (0 = one per processor, at most 8).")
    var threads: Int = 0

    @Option(help: "Model file (default: $PONDER_MODEL or models/ponder-shapes-q8_0.gguf).")
    var model: String?

    func validate() throws {
        if let planOut { try OutputPath.check(plan: planOut, option: "--plan-out") }
    }

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

// Top-level code rather than @main, since the module has more files than this one; last, so
// that every global of this file is initialised first.
PonderCLI.main()
