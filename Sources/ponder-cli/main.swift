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
        discussion: modelSearch,
        subcommands: [Generate.self, Describe.self, Edit.self, Redraw.self, Add.self, Info.self],
        defaultSubcommand: Generate.self)
}

let defaultModelName = "ponder-shapes-q8_0.gguf"
let modelSearch = """
    The model file is the first of: --model; the environment variable PONDER_MODEL; \
    PREFIX/share/ponder/\(defaultModelName), PREFIX being the folder above the one that holds \
    this program (`scripts/install PREFIX` puts both there); ./models/\(defaultModelName).
    """
let modelHelp = ArgumentHelp("Model file (default: $PONDER_MODEL, else the installed default model; see `ponder --help`).")

/// The model path, in the order of `modelSearch`. A path given by --model or PONDER_MODEL is
/// used as given (the loader reports it if missing); the defaults are tried in turn.
func resolveModel(_ path: String?) throws -> String {
    if let path { return path }
    if let env = getenv("PONDER_MODEL") { return String(cString: env) }
    var candidates: [String] = []
    if let prefix = installPrefix() { candidates.append(prefix + "/share/ponder/" + defaultModelName) }
    candidates.append("models/" + defaultModelName)
    for c in candidates where access(c, R_OK) == 0 { return c }
    throw PonderError(.io, "no model file: give --model or set PONDER_MODEL (looked for \(candidates.joined(separator: " and ")))")
}

/// The folder above the one that holds this program (/proc/self/exe, links resolved), so an
/// installed copy finds what was installed beside it wherever it is called from.
func installPrefix() -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    var parts = String(cString: buffer).split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count >= 3 else { return nil }
    parts.removeLast(2)  // the program's name and its folder (bin)
    return parts.joined(separator: "/")
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

    @Option(help: modelHelp)
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

    @Option(help: modelHelp)
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

    @Option(help: modelHelp)
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

// MARK: - Editing a picture (docs/canvas.md)

/// What every edit takes: the picture, where the result goes, and how to draw
/// (docs/canvas.md).
struct EditOptions: ParsableArguments {
    @Argument(help: "The picture to edit: a PNG of the model's size (128 × 128 for the default model).")
    var image: String

    @Option(name: .shortAndLong, help: "Output PNG file (the input is never changed).")
    var output: String = "out.png"

    @Option(name: .customLong("image-plan"), help: "The picture's plan (docs/plan.md); without it the picture is described.")
    var imagePlan: String?

    @Option(name: .customLong("plan-out"), help: "Also write the new plan to this file.")
    var planOut: String?

    @Option(help: "Random seed; the same seed gives the same edit.")
    var seed: UInt64 = 0

    @Option(name: .customLong("check"),
            help: "Checked editing: read the result back at most N times, redrawing wrong objects in the edited cells (0 = off).")
    var check: Int = SessionParameters.defaultCheckAttempts

    @Option(help: "Worker threads (0 = one per processor, at most 8).")
    var threads: Int = 0

    @Option(help: modelHelp)
    var model: String?

    /// Loads the picture into a session's canvas, runs `edit`, prints and writes the result.
    func run(_ edit: (Session, Canvas) throws -> Canvas) throws {
        do {
            guard output.lowercased().hasSuffix(".png") else {
                throw PonderError(.invalidArgument, "'\(output)': the output is a PNG; name it with .png")
            }
            let m = try Model(path: resolveModel(model))
            var p = SessionParameters()
            p.seed = seed
            p.threads = threads
            p.checkAttempts = check
            let session = try Session(model: m, parameters: p)
            let picture = try PNGReader.read(path: image)
            let given = try imagePlan.map { try Canvas.plan(text: try readFile($0)) }
            let result = try edit(session, try session.canvas(image: picture, plan: given))
            print(result.plan.text)
            if let planOut { try writeFile(planOut, result.plan.text + "\n") }
            try result.image.pixels.withUnsafeBytes {
                try PNGWriter.write(rgb: $0, width: result.image.width, height: result.image.height, path: output)
            }
            fputs("redrew \(session.editedCells) of \(session.totalTokens) cells; wrote \(output)\n", stderr)
        } catch let e as PonderError {
            throw fail(e.message)
        }
    }
}

struct Edit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Redraw a picture to an edited plan: move, recolour, resize, remove or add objects, or change the background.",
        discussion: "Write the picture's plan (ponder describe, or the plan it was drawn from), edit it, and pass it with --plan-in. Only the cells of changed objects are redrawn.")

    @OptionGroup var options: EditOptions

    @Option(name: .customLong("plan-in"), help: "The edited plan (docs/plan.md).")
    var planIn: String

    func run() throws {
        try options.run { session, canvas in
            try session.edit(canvas, plan: try Canvas.plan(text: try readFile(planIn)))
        }
    }
}

struct Redraw: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Redraw a region of a picture (inpainting), with a phrase for what goes there or cleared to the background.")

    @OptionGroup var options: EditOptions

    @Option(help: "The region in pixels: x0,y0,x1,y1 (x0 <= x < x1, y0 <= y < y1).")
    var box: String

    @Option(help: "What goes in the region: a phrase for one object, e.g. \"a small red star\" (default: clear it).")
    var prompt: String?

    func run() throws {
        let parts = box.split(separator: ",", omittingEmptySubsequences: false).map { Int(String($0)) }
        guard parts.count == 4, let x0 = parts[0], let y0 = parts[1], let x1 = parts[2], let y1 = parts[3] else {
            throw fail("--box '\(box)' is not four whole numbers x0,y0,x1,y1")
        }
        try options.run { session, canvas in
            try session.redraw(canvas, region: PixelBox(x0: x0, y0: y0, x1: x1, y1: y1), phrase: prompt)
        }
    }
}

struct Add: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add one object to a picture by a phrase, e.g. \"a red star to the right of the blue circle\".")

    @OptionGroup var options: EditOptions

    @Argument(help: "A phrase of the prompt language for one object; \"the ...\" names an object in the picture.")
    var phrase: String

    func run() throws {
        try options.run { session, canvas in try session.add(canvas, phrase: phrase) }
    }
}
