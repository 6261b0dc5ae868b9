import CPonderKernels
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
    /// Speculative drawing: the most drafted image tokens each pass over the weights feeds
    /// after the token just drawn, kept for as long as the model's own samples agree with them.
    /// The image is the same, byte for byte, for every value; only the speed changes. 0 draws
    /// one token a pass (docs/performance.md, "Speculative drawing").
    public var draftTokens: Int = SessionParameters.defaultDraftTokens

    public init() {}

    public static let maxThreads = 256
    public static let maxPlanAttempts = 64
    public static let maxCheckAttempts = 16
    /// From docs/results.md's measurements of accuracy against time (training/prompt_accuracy.py).
    public static let defaultCheckAttempts = 3
    public static let maxCFGScale: Float = 100
    /// From docs/performance.md's "Speculative drawing" (benchmarks/speculation.py): where the
    /// engine multiplies with AVX-512 VNNI, a pass over several tokens costs far less than as
    /// many one-token passes, and 3 drafts drew an image in 0.87 of the time of none; with
    /// AVX2 alone a batch's product costs nearly in proportion to its tokens, and 3 drafts
    /// took 1.29 of the time, so there drafting is off. Either way the image is the same.
    public static var defaultDraftTokens: Int { pk_q8x16_available() != 0 ? 3 : 0 }
    /// A pass feeds each of two sequences at most 16 tokens (TransformerState.speculatedItems).
    public static let maxDraftTokens = 15

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
        guard draftTokens >= 0, draftTokens <= SessionParameters.maxDraftTokens else {
            throw PonderError.invalidArgument("draft tokens \(draftTokens) is out of range (0 to \(SessionParameters.maxDraftTokens))")
        }
        var p = self
        if p.threads == 0 { p.threads = max(1, min(8, sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
        return p
    }
}
