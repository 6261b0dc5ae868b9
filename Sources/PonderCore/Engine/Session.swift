// A session's state and the calls every job shares. Its jobs are in the extensions:
// Session+Thinking (prompt → plan), Session+Drawing (plan → image tokens, guided),
// Session+Decoding (tokens → pixels on the background), Session+Evaluating (raw token ids),
// Session+Reading (picture → plan), Session+Checking (checked drawing) and Session+Editing.

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
    /// Called by an edit (edit, redraw(_:region:phrase:), add) after each image token it
    /// samples: done of total tokens of the current pass (the edit's first drawing, then each
    /// redraw its check asks for and each new place tried, so done restarts at 1 with each
    /// pass). Returning false stops the edit: it throws .cancelled and the session keeps the
    /// canvas it had. nil: no calls.
    public var editProgress: ((_ done: Int, _ total: Int) -> Bool)?
    /// The plan a preview last rendered and its codes (Session+Decoding), kept for the next.
    var previewCodes: (plan: Plan, codes: [Int32])?

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
    /// Whether the transformer's logits are those for the next image token (Session+Drawing).
    var drawing = false
    /// The conditional sequence the image tokens follow (see startDrawing).
    var drawContext: [Int32] = []
    /// The last drawing pass's Jacobi drafts: guesses of the codes from index `from` on.
    /// Only hints: a wrong one costs speed, never a different image.
    var drafts: (from: Int, tokens: [Int32]) = (0, [])

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
                          capacity: model.hyperParameters.vocabSize)
        reader = Sampler(params: SamplingParameters(temperature: 0), capacity: model.hyperParameters.vocabSize)
        codes.reserveCapacity(model.hyperParameters.imageTokens)
    }

    /// The background the image is laid on: the plan's, else the prompt's, else the one read
    /// from a picture set with setImage, else white.
    public var background: Int { plan?.background ?? prompt?.background ?? imageBackground ?? 0 }

    /// Discards the image in progress and whatever was made from it (checks, an edit).
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
        try state.set(seq, to: tokens)
    }
}
