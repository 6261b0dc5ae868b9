import ArgumentParser
import CPonder
import PonderCore
#if canImport(Glibc)
import Glibc
#endif

struct PonderCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ponder",
        abstract: "Ponder: a thinking image model. Plans a picture from a prompt, then draws it.",
        discussion: modelSearch,
        subcommands: [Generate.self, Describe.self, Edit.self, Redraw.self, Add.self, Info.self],
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

let defaultModelName = PONDER_DEFAULT_MODEL
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
    if let env = getenv("PONDER_MODEL"), env.pointee != 0 { return String(cString: env) }
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
    if OutputPath.isDirectory(path) {
        throw PonderError(.io, "cannot read '\(PonderError.visible(path))': it is a directory, not a plan file")
    }
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

    @Option(help: modelHelp)
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
            if planText == nil, session.planSatisfiesPrompt == false {
                fputs("ponder: warning: no plan of the \(session.planAttemptsUsed) written satisfies the prompt; drawing the last "
                      + "(the prompt may ask for what cannot fit, such as large objects crowded into one region)\n", stderr)
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
        // The plan after the image, so a failed write leaves no plan of an image not written.
        if let plan = session.plan, let planOut {
            try writeFile(image.count == 1 ? planOut : OutputPath.numbered(planOut, seed), plan.text + "\n")
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

    @Option(help: modelHelp)
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

    @Option(parsing: .unconditional,
            help: "Random seed, 0 to 2^64-1; the same seed gives the same edit. 'random' (or -1) draws one and prints it.")
    var seed: SeedChoice = .fixed(0)

    @Option(name: .customLong("check"), parsing: .unconditional,
            help: "Checked editing: read the result back at most N times, redrawing wrong objects in the edited cells (0 = off).")
    var check: Int = SessionParameters.defaultCheckAttempts

    @Option(parsing: .unconditional, help: "Worker threads (0 = one per processor, at most 8).")
    var threads: Int = 0

    @Option(help: modelHelp)
    var model: String?

    func validate() throws {
        try OutputPath.check(image: output, option: "-o")
        if let planOut { try OutputPath.check(plan: planOut, option: "--plan-out") }
        // The input is never changed: writing the result over it would.
        if let a = realpath(image, nil) {
            defer { free(a) }
            if let b = realpath(output, nil) {
                defer { free(b) }
                if strcmp(a, b) == 0 {
                    throw ValidationError("-o '\(PonderError.visible(output))' is the picture being edited; write the result to another file")
                }
            }
        }
        // Where the result goes must exist before any drawing.
        for (path, option) in [(output, "-o")] + (planOut.map { [($0, "--plan-out")] } ?? []) {
            let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
            guard access(folder.isEmpty ? "/" : folder, W_OK) == 0 else {
                throw ValidationError("\(option) '\(PonderError.visible(path))': the folder '\(PonderError.visible(folder))' does not exist or cannot be written")
            }
        }
    }

    /// Loads the picture into a session's canvas, runs `edit`, prints and writes the result.
    func run(_ edit: (Session, Canvas) throws -> Canvas) throws {
        do {
            let m = try Model(path: resolveModel(model))
            var p = SessionParameters()
            let seed = self.seed.resolve()
            p.seed = seed
            p.threads = threads
            p.checkAttempts = check
            let session = try Session(model: m, parameters: p)
            let picture = try PNGReader.read(path: image)
            let given = try imagePlan.map { try Canvas.plan(text: try readFile($0)) }
            let result = try edit(session, try session.canvas(image: picture, plan: given))
            try result.image.pixels.withUnsafeBytes {
                try PNGWriter.write(rgb: $0, width: result.image.width, height: result.image.height, path: output)
            }
            if let planOut { try writeFile(planOut, result.plan.text + "\n") }
            print(result.plan.text)
            let drawn = self.seed == .random ? "; drawn at random, --seed \(seed) makes it again" : ""
            fputs("redrew \(session.editedCells) of \(session.totalTokens) cells; wrote \(output) (seed \(seed)\(drawn))\n", stderr)
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

    // Unconditional: a box that starts with a minus sign ("-5,0,10,10") is its value, so its
    // error says what is wrong with the box rather than that the value is missing.
    @Option(parsing: .unconditional, help: "The region in pixels: x0,y0,x1,y1 (x0 <= x < x1, y0 <= y < y1).")
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

// Top-level code rather than @main, since the module has more files than this one; last, so
// that every global of this file is initialised first.
// A file size limit must fail a write with an error, not kill the process mid-write.
signal(SIGXFSZ, SIG_IGN)
PonderCLI.main()
