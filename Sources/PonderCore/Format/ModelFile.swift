/// The facts a Ponder GGUF file declares (docs/format.md), read from its metadata and
/// checked for consistency with each other and with the tensors.
public struct HyperParameters: Equatable {
    public var contextLength: Int
    public var dim: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var ffnDim: Int
    public var normEpsilon: Float
    public var ropeBase: Float
    public var vocabSize: Int
    public var imageWidth: Int
    public var imageHeight: Int
    public var gridWidth: Int
    public var gridHeight: Int
    public var codebookSize: Int
    /// Classifier-free guidance scale the model was tuned for (metadata, optional).
    public var defaultCFGScale: Float

    public var headDim: Int { dim / heads }
    /// Longest context accepted; a session's caches grow with it, and nothing in the file
    /// backs it, so a hostile file must not be able to ask for gigabytes.
    public static let maxContextLength = 4096
    public var imageTokens: Int { gridWidth * gridHeight }
}

/// Token ids of a model's vocabulary: the words and special tokens listed in the file, then
/// the image codes, which occupy the last `codebookSize` ids.
public struct Vocabulary {
    public let words: [String]
    public let ids: [String: Int32]
    public let imageCodeOffset: Int
    public let codebookSize: Int

    public let bos: Int32, think: Int32, endThink: Int32, image: Int32
    /// `<describe>`, which starts an image → plan sequence; nil in a model that cannot describe.
    public let describe: Int32?

    public static let specials = ["<bos>", "<think>", "</think>", "<image>"]

    init(words: [String], codebookSize: Int) throws {
        var ids: [String: Int32] = [:]
        for (i, w) in words.enumerated() {
            guard !w.isEmpty else { throw PonderError.badModel("vocabulary entry \(i) is empty") }
            guard ids[w] == nil else { throw PonderError.badModel("vocabulary lists '\(w)' twice") }
            ids[w] = Int32(i)
        }
        var required = Vocabulary.specials + World.promptWords
        required += ["background", "at"] + (0..<World.canvas).map(String.init)
        for w in required where ids[w] == nil {
            throw PonderError.badModel("vocabulary lacks the word '\(w)' that the prompt language or plan grammar needs")
        }
        self.words = words
        self.ids = ids
        self.imageCodeOffset = words.count
        self.codebookSize = codebookSize
        bos = ids["<bos>"]!
        think = ids["<think>"]!
        endThink = ids["</think>"]!
        image = ids["<image>"]!
        describe = ids["<describe>"]
    }

    public var size: Int { imageCodeOffset + codebookSize }

    public func id(_ word: String) -> Int32? { ids[word] }

    public func imageToken(code: Int) -> Int32 { Int32(imageCodeOffset + code) }
}

enum ModelKeys {
    static let architecture = "ponder"
    static func key(_ k: String) -> String { "\(architecture).\(k)" }
}

extension GGUFFile {
    func required(_ key: String) throws -> Value {
        guard let v = metadata[key] else { throw PonderError.badModel("metadata key '\(key)' is missing") }
        return v
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int {
        guard let v = try required(key).asInt else { throw PonderError.badModel("metadata '\(key)' must be an integer") }
        guard range.contains(v) else {
            throw PonderError.badModel("metadata '\(key)' = \(v) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    func float(_ key: String, default value: Float? = nil) throws -> Float {
        guard let raw = metadata[key] else {
            if let value { return value }
            throw PonderError.badModel("metadata key '\(key)' is missing")
        }
        // A finite double beyond Float's range would become infinite here, unnoticed.
        guard let v = raw.asFloat, v.isFinite, Float(v).isFinite else {
            throw PonderError.badModel("metadata '\(key)' must be a finite number in single precision")
        }
        return Float(v)
    }

    func strings(_ key: String) throws -> [String] {
        guard let v = try required(key).asStrings else { throw PonderError.badModel("metadata '\(key)' must be an array of strings") }
        return v
    }

    func readHyperParameters() throws -> (HyperParameters, Vocabulary) {
        guard let arch = metadata["general.architecture"]?.asString else {
            throw PonderError.badModel("metadata 'general.architecture' is missing")
        }
        guard arch == ModelKeys.architecture else {
            throw PonderError.badModel("architecture '\(arch)' is not '\(ModelKeys.architecture)'")
        }
        let k = ModelKeys.key
        let grammar = try int(k("plan.grammar_version"), in: 0...Int(Int32.max))
        guard grammar == Plan.grammarVersion else {
            throw PonderError.badModel("plan grammar version \(grammar) is not supported (this engine reads \(Plan.grammarVersion))")
        }
        let world = try int(k("world.version"), in: 0...Int(Int32.max))
        guard world == World.version else {
            throw PonderError.badModel("world version \(world) is not supported (this engine knows the Shapes world, version \(World.version))")
        }
        let words = try strings(k("vocab.tokens"))
        guard words.count <= 1 << 16 else { throw PonderError.badModel("vocabulary has \(words.count) words; at most 65536") }
        let codebook = try int(k("image.codebook_size"), in: 2...65536)
        let vocab = try Vocabulary(words: words, codebookSize: codebook)
        let hp = HyperParameters(
            contextLength: try int(k("context_length"), in: 8...HyperParameters.maxContextLength),
            dim: try int(k("embedding_length"), in: 32...16384),
            layers: try int(k("block_count"), in: 1...256),
            heads: try int(k("attention.head_count"), in: 1...256),
            kvHeads: try int(k("attention.head_count_kv"), in: 1...256),
            ffnDim: try int(k("feed_forward_length"), in: 32...65536),
            normEpsilon: try float(k("attention.layer_norm_rms_epsilon")),
            ropeBase: try float(k("rope.freq_base"), default: 10000),
            vocabSize: vocab.size,
            imageWidth: try int(k("image.width"), in: 8...4096),
            imageHeight: try int(k("image.height"), in: 8...4096),
            gridWidth: try int(k("image.grid_width"), in: 1...256),
            gridHeight: try int(k("image.grid_height"), in: 1...256),
            codebookSize: codebook,
            defaultCFGScale: try float(k("sampling.cfg_scale"), default: 1.0))
        guard hp.dim % hp.heads == 0, hp.headDim % 2 == 0 else {
            throw PonderError.badModel("embedding length \(hp.dim) does not split into \(hp.heads) heads of even size")
        }
        guard hp.heads % hp.kvHeads == 0 else {
            throw PonderError.badModel("head count \(hp.heads) is not a multiple of the key/value head count \(hp.kvHeads)")
        }
        guard hp.dim % 32 == 0, hp.ffnDim % 32 == 0 else {
            throw PonderError.badModel("embedding and feed-forward lengths must be multiples of 32 (Q8_0 blocks)")
        }
        guard hp.normEpsilon > 0, hp.normEpsilon <= 0.01, hp.ropeBase > 1, hp.ropeBase <= 1e8 else {
            throw PonderError.badModel("norm epsilon \(hp.normEpsilon) must be above 0 and at most 0.01, and rope base \(hp.ropeBase) above 1 and at most 1e8")
        }
        guard hp.imageWidth % hp.gridWidth == 0, hp.imageHeight % hp.gridHeight == 0 else {
            throw PonderError.badModel("image \(hp.imageWidth)×\(hp.imageHeight) is not a whole number of \(hp.gridWidth)×\(hp.gridHeight) grid cells")
        }
        // Longest conditional sequence: <bos>, the longest prompt, thinking, <image>, the image.
        let longestPrompt = Prompt.maxWords
        let needed = 1 + longestPrompt + 2 + Plan.maxTokens + 1 + hp.imageTokens
        guard hp.contextLength >= needed else {
            throw PonderError.badModel("context length \(hp.contextLength) is shorter than the \(needed) tokens a prompt, plan and image need")
        }
        // Checked as a caller's scale is: a file may not ask for what a caller may not.
        if let problem = SessionParameters.cfgScaleProblem(hp.defaultCFGScale) {
            throw PonderError.badModel("metadata '\(k("sampling.cfg_scale"))': \(problem)")
        }
        return (hp, vocab)
    }
}
