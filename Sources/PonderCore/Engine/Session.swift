#if canImport(Glibc)
import Glibc
#endif

public struct SessionParameters: Equatable {
    public var seed: UInt64 = 0
    public var temperature: Float = 1.0
    public var topK: Int = 0
    public var topP: Float = 1.0
    /// Classifier-free guidance scale; nil takes the model's default. 1 turns guidance off.
    public var cfgScale: Float? = nil
    /// Whether `plan(prompt:)` writes a plan before drawing.
    public var think: Bool = true
    /// Plans written at most per prompt: thinking checks each plan against the prompt and
    /// writes another (the sampler going on) until one satisfies it; 1 keeps the first.
    public var planAttempts: Int = 8
    /// Worker threads; 0 picks the number of online processors (at most 8).
    public var threads: Int = 0
    /// Checked drawing: after the last image token the model reads its image back into a plan,
    /// at most this many times, and after each read but the last redraws the cells of objects
    /// that disagree with the plan it drew from; the image read with the fewest wrong objects
    /// is kept. 0 turns it off, 1 only reads.
    /// Needs a plan and a model that can describe (docs/plan.md, "Checked drawing").
    public var checkAttempts: Int = SessionParameters.defaultCheckAttempts

    public init() {}

    public static let maxThreads = 256
    public static let maxPlanAttempts = 64
    public static let maxCheckAttempts = 16
    /// From docs/results.md's measurements of accuracy against time (training/benchmark.py).
    public static let defaultCheckAttempts = 3
    public static let maxCFGScale: Float = 100

    /// What is wrong with a guidance scale, or nil: the one range check for a scale a caller
    /// passes and for the one a model file holds (`ponder.sampling.cfg_scale`).
    public static func cfgScaleProblem(_ s: Float) -> String? {
        guard s.isFinite, s >= 0, s <= maxCFGScale else { return "cfg_scale \(s) is out of range (0 to \(maxCFGScale))" }
        return nil
    }

    func validated() throws -> SessionParameters {
        guard temperature.isFinite, temperature >= 0, temperature <= 100 else {
            throw PonderError.invalidArgument("temperature \(temperature) is out of range (0 to 100)")
        }
        guard topK >= 0 else { throw PonderError.invalidArgument("top_k \(topK) must not be negative") }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw PonderError.invalidArgument("top_p \(topP) is out of range (0 exclusive to 1)") }
        if let s = cfgScale, let problem = SessionParameters.cfgScaleProblem(s) { throw PonderError.invalidArgument(problem) }
        guard threads >= 0, threads <= SessionParameters.maxThreads else {
            throw PonderError.invalidArgument("thread count \(threads) is out of range (0 to \(SessionParameters.maxThreads))")
        }
        guard planAttempts >= 1, planAttempts <= SessionParameters.maxPlanAttempts else {
            throw PonderError.invalidArgument("plan attempts \(planAttempts) is out of range (1 to \(SessionParameters.maxPlanAttempts))")
        }
        guard checkAttempts >= 0, checkAttempts <= SessionParameters.maxCheckAttempts else {
            throw PonderError.invalidArgument("check attempts \(checkAttempts) is out of range (0 to \(SessionParameters.maxCheckAttempts))")
        }
        var p = self
        if p.threads == 0 { p.threads = max(1, min(8, sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
        return p
    }
}

/// One generation at a time on a shared model: plan (think), then step through the image
/// tokens, decoding whenever a preview is wanted. A session is used by one thread at a time.
public final class Session {
    public let model: Model
    public let parameters: SessionParameters
    public let cfgScale: Float

    public internal(set) var prompt: Prompt?
    public internal(set) var plan: Plan?
    /// Plans written for the current prompt (1 when the first satisfied it; 0 without thinking).
    public internal(set) var planAttemptsUsed = 0
    /// Image codes generated so far, in raster order.
    public internal(set) var codes: [Int32] = []
    /// Checked drawing of the current image: plans read back from it, and redraws made.
    public internal(set) var checksUsed = 0
    public internal(set) var redrawsUsed = 0
    /// The background read from the pixels of an image set with setImage, else nil.
    var imageBackground: Int?
    /// The picture an edit made (Session+Editing), which decode returns; nil while drawing.
    public internal(set) var canvas: Canvas?
    /// The picture set with setImage, kept for an edit to composite onto.
    var picture: RGBImage?
    /// Cells the last edit redrew (Session+Editing).
    public internal(set) var editedCells = 0

    let pool: ThreadPool
    let state: TransformerState
    var sampler: Sampler
    /// Reading a picture is deterministic: the likeliest allowed word each time.
    let reader: Sampler
    /// Whether the plan drawn from satisfies the prompt (docs/plan.md, "Checked thinking"):
    /// false when no plan of planAttempts did and the last is drawn (the prompt may ask for
    /// what cannot fit, e.g. two large circles in one corner), or when a plan set by the caller
    /// does not; nil without a prompt or a plan.
    public var planSatisfiesPrompt: Bool? {
        guard let prompt, let plan else { return nil }
        return plan.satisfies(prompt)
    }
    /// Whether the transformer's logits are those for the next image token.
    private var drawing = false
    /// The conditional sequence the image tokens follow (see startDrawing).
    var drawContext: [Int32] = []

    static let thinkStream: UInt64 = 0x7468_696E_6B00_0000  // "think"
    static let drawStream: UInt64 = 0x6472_6177_0000_0000  // "draw"

    public var totalTokens: Int { model.hyperParameters.imageTokens }
    public var guided: Bool { cfgScale != 1 }

    public init(model: Model, parameters: SessionParameters = SessionParameters()) throws {
        let p = try parameters.validated()
        self.model = model
        self.parameters = p
        cfgScale = p.cfgScale ?? model.hyperParameters.defaultCFGScale
        pool = try ThreadPool(size: p.threads)
        state = try TransformerState(weights: model.weights, pool: pool)
        sampler = Sampler(params: SamplingParameters(temperature: p.temperature, topK: p.topK, topP: p.topP),
                          seed: p.seed, capacity: model.hyperParameters.vocabSize)
        reader = Sampler(params: SamplingParameters(temperature: 0), seed: 0, capacity: model.hyperParameters.vocabSize)
        codes.reserveCapacity(model.hyperParameters.imageTokens)
    }

    // MARK: Thinking

    /// Takes a prompt, checks it against the prompt language and, with thinking on, writes a
    /// plan (returned): up to `planAttempts` plans, until one satisfies the prompt (else the
    /// last). Starts a new image: tokens drawn before are discarded.
    @discardableResult
    public func plan(prompt text: String) throws -> Plan? {
        let prompt = try Prompt(text)
        let promptTokens = try model.tokens(prompt)
        self.prompt = prompt
        plan = nil
        planAttemptsUsed = 0
        imageBackground = nil
        resetDrawing()
        guard parameters.think else { return nil }

        let prefix = [model.vocabulary.bos] + promptTokens + [model.vocabulary.think]
        sampler.rng = RandomSource(seed: parameters.seed ^ Session.thinkStream)
        for attempt in 1...parameters.planAttempts {
            try feed(0, prefix)  // back to the end of the prompt; the sampler's stream goes on
            let written = try writePlan()
            plan = written
            planAttemptsUsed = attempt
            if written.satisfies(prompt) { break }
        }
        return plan
    }

    /// Writes one plan on sequence `seq` after what it holds, each word constrained by the plan
    /// grammar and drawn by `sampler` (the session's, unless given).
    func writePlan(seq: Int = 0, sampler given: Sampler? = nil) throws -> Plan {
        let sampler = given ?? self.sampler
        let vocab = model.vocabulary
        var grammar = PlanGrammar()
        var candidates: [Int32] = []
        while true {
            let allowed = grammar.allowed()
            candidates.removeAll(keepingCapacity: true)
            for w in allowed.words { candidates.append(vocab.id(w)!) }
            for n in allowed.numbers { candidates.append(vocab.id(String(n))!) }
            if allowed.end { candidates.append(vocab.endThink) }
            let logits = state.logits(of: seq)
            let token = sampler.sample(count: candidates.count) { ids, out in
                for (i, id) in candidates.enumerated() {
                    ids[i] = id
                    out[i] = logits[Int(id)]
                }
            }
            if token == vocab.endThink { break }
            try grammar.accept(word: vocab.words[Int(token)])
            try state.append(seq, [token])
        }
        return grammar.plan
    }

    /// Replaces the plan with one the caller wrote or edited (text form of docs/plan.md).
    /// Needs a prompt from `plan(prompt:)`; starts the image anew.
    public func setPlan(_ text: String) throws {
        guard prompt != nil else { throw PonderError.wrongState("set a prompt with plan(prompt:) before setting a plan") }
        plan = try Plan(text: text)
        imageBackground = nil
        resetDrawing()
    }

    // MARK: Drawing

    /// Generates up to `maxTokens` more image tokens; returns how many are done and remain.
    @discardableResult
    public func step(_ maxTokens: Int) throws -> (done: Int, remaining: Int) {
        guard maxTokens >= 0 else { throw PonderError.invalidArgument("token count \(maxTokens) must not be negative") }
        guard let prompt else { throw PonderError.wrongState("call plan(prompt:) before step") }
        let total = totalTokens
        if codes.count < total && maxTokens > 0 && !drawing {
            try startDrawing(prompt)
        }
        let vocab = model.vocabulary
        let offset = vocab.imageCodeOffset
        var made = 0
        while made < maxTokens && codes.count < total {
            let token = sampleImageToken()
            codes.append(token - Int32(offset))
            made += 1
            if codes.count < total {
                try state.advance(token, sequences: guided ? 2 : 1)
            } else {
                try check()
            }
        }
        return (codes.count, total - codes.count)
    }

    /// Draws the image tokens still to come, one at a time, calling `progress(done, total)`
    /// after each (checked drawing runs within the last one, before its call). When progress
    /// returns false before the last token, stops there and returns false: the tokens drawn so
    /// far stay, and a later step or draw goes on from them, so the image comes out as if it
    /// had never stopped. Returns true when the image is complete; a complete image is left
    /// as it is, without calls.
    @discardableResult
    public func draw(progress: ((_ done: Int, _ total: Int) -> Bool)? = nil) throws -> Bool {
        guard prompt != nil else { throw PonderError.wrongState("call plan(prompt:) before draw") }
        while codes.count < totalTokens {
            let r = try step(1)
            if let progress, !progress(r.done, totalTokens), r.remaining > 0 { return false }
        }
        return true
    }

    /// Samples the next image token (a vocabulary id) from the logits of sequences 0 and 1,
    /// guided when the session is.
    func sampleImageToken() -> Int32 {
        let vocab = model.vocabulary
        let offset = vocab.imageCodeOffset, k = vocab.codebookSize
        let scale = cfgScale, guided = self.guided
        let cond = state.logits(of: 0), uncond = state.logits(of: 1)
        return sampler.sample(count: k) { ids, out in
            for i in 0..<k {
                ids[i] = Int32(offset + i)
                let c = cond[offset + i]
                out[i] = guided ? uncond[offset + i] + scale * (c - uncond[offset + i]) : c
            }
        }
    }

    /// The background the image is laid on: the plan's, else the prompt's, else the one read
    /// from a picture set with setImage, else white.
    public var background: Int { plan?.background ?? prompt?.background ?? imageBackground ?? 0 }

    /// Drawing always happens on white: the context holds the prompt without its background
    /// phrase and the plan on white, and decode() lays in the background afterwards. A model
    /// draws white scenes best by far (most of its training images are on white, and its
    /// image tokens carry a shape on a dark background only about half as well); the
    /// background is a fact of the plan, so nothing is lost (docs/format.md, "Backgrounds").
    private func startDrawing(_ prompt: Prompt) throws {
        let vocab = model.vocabulary
        var cond = [vocab.bos] + (try model.tokens(prompt, onWhite: true))
        if let plan { cond += [vocab.think] + model.tokens(Plan(background: 0, objects: plan.objects)) + [vocab.endThink] }
        cond.append(vocab.image)
        drawContext = cond
        try feed(0, cond)
        if guided { try feed(1, [vocab.bos, vocab.image]) }
        sampler.rng = RandomSource(seed: parameters.seed ^ Session.drawStream)
        drawing = true
    }

    func resetDrawing() {
        codes.removeAll(keepingCapacity: true)
        canvas = nil
        picture = nil
        editedCells = 0
        drawing = false
        checksUsed = 0
        redrawsUsed = 0
    }

    /// Makes sequence `seq` hold exactly `tokens`, reusing the cached common prefix, and
    /// leaves the logits after its last token.
    func feed(_ seq: Int, _ tokens: [Int32]) throws {
        let cached = state.caches[seq].tokens
        var common = 0
        while common < min(cached.count, tokens.count - 1) && cached[common] == tokens[common] { common += 1 }
        state.truncate(seq, to: common)
        try state.append(seq, Array(tokens[common...]))
    }

    // MARK: Raw evaluation

    /// Evaluates raw token ids: keeps the first `keep` tokens of the conditional sequence,
    /// appends `tokens` and copies the logits after the last one into `logits` (vocabSize
    /// values). For parity checks and benchmarks; the image in progress is discarded.
    public func evaluate(tokens: [Int32], keep: Int, logits: UnsafeMutableBufferPointer<Float>) throws {
        let hp = model.hyperParameters
        guard !tokens.isEmpty else { throw PonderError.invalidArgument("no tokens to evaluate") }
        guard keep >= 0, keep <= state.caches[0].tokens.count else {
            throw PonderError.invalidArgument("n_past \(keep) exceeds the \(state.caches[0].tokens.count) tokens evaluated so far")
        }
        guard tokens.count <= hp.contextLength - keep else {
            throw PonderError.invalidArgument("\(keep + tokens.count) tokens exceed the context of \(hp.contextLength)")
        }
        for t in tokens where t < 0 || Int(t) >= hp.vocabSize {
            throw PonderError.invalidArgument("token id \(t) is outside the vocabulary of \(hp.vocabSize)")
        }
        guard logits.count >= hp.vocabSize || logits.baseAddress == nil else {
            throw PonderError(.bufferTooSmall, "logits buffer holds \(logits.count) values; \(hp.vocabSize) needed")
        }
        resetDrawing()
        state.truncate(0, to: keep)
        try state.append(0, tokens)
        if let out = logits.baseAddress { out.update(from: state.logits(of: 0), count: hp.vocabSize) }
    }

    // MARK: Decoding

    public var imageWidth: Int { model.hyperParameters.imageWidth }
    public var imageHeight: Int { model.hyperParameters.imageHeight }
    public var imageByteCount: Int { imageWidth * imageHeight * 3 }

    /// The neutral grey shown where tokens are not yet generated.
    public static let pendingFill: UInt8 = 128

    /// Decodes the tokens so far into RGB8 (row-major) on the image's background; not yet
    /// generated cells are grey. After an edit, the edited picture (Session+Editing).
    ///
    /// The decoder's convolutions reach across cells (the shipped model's, 5.5), so the codes
    /// put in the cells not yet drawn colour the finished rows just above them. Each such cell
    /// is decoded as a copy of the cell above it (in the first row, of the last cell drawn):
    /// the drawing most often goes on as it was, whereas a code the model would not have drawn
    /// there (a fixed code 0 did) tints the last finished rows with colours the image never
    /// gets. docs/format.md, "Previews", has the measurement.
    public func decode(into rgb: UnsafeMutableRawBufferPointer) throws {
        guard !codes.isEmpty else { throw PonderError.wrongState("no image tokens yet: call step before decode") }
        guard rgb.count >= imageByteCount, let base = rgb.baseAddress else {
            throw PonderError(.bufferTooSmall, "RGB buffer holds \(rgb.count) bytes; the image needs \(imageByteCount)")
        }
        if let canvas {
            base.copyMemory(from: canvas.image.pixels, byteCount: imageByteCount)
            return
        }
        let hp = model.hyperParameters
        var grid = codes
        grid.reserveCapacity(hp.imageTokens)
        for cell in codes.count..<hp.imageTokens {
            grid.append(cell >= hp.gridWidth ? grid[cell - hp.gridWidth] : codes[codes.count - 1])
        }
        let out = base.assumingMemoryBound(to: UInt8.self)
        try model.decoder.decode(codes: grid, into: out, pool: pool)
        Background.move(out, pixels: hp.imageWidth * hp.imageHeight, from: 0, to: background)
        let cellW = hp.imageWidth / hp.gridWidth, cellH = hp.imageHeight / hp.gridHeight
        for cell in codes.count..<hp.imageTokens {
            let gx = cell % hp.gridWidth, gy = cell / hp.gridWidth
            for y in (gy * cellH)..<((gy + 1) * cellH) {
                let row = out + (y * hp.imageWidth + gx * cellW) * 3
                row.update(repeating: Session.pendingFill, count: cellW * 3)
            }
        }
    }

    public func decode() throws -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: imageByteCount)
        try rgb.withUnsafeMutableBytes { try decode(into: $0) }
        return rgb
    }
}
