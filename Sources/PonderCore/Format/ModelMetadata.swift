/// The transformer's and the image's shapes a Ponder GGUF file declares (docs/format.md),
/// read from its metadata and checked for consistency with each other.
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

/// Everything a Ponder file's metadata declares: the shapes, and the vocabulary and language
/// versions, which this layer reads but does not judge: the engine checks them against the
/// prompt language and plan grammar it speaks (`Vocabulary`, Engine/Vocabulary.swift).
public struct ModelMetadata {
    public var hyperParameters: HyperParameters
    /// The words and special tokens, in id order; the image codes follow them.
    public var words: [String]
    public var planGrammarVersion: Int
    public var worldVersion: Int
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

    /// Reads and checks the metadata on its own terms: every key present, of its type, in
    /// range, and the shapes consistent with each other.
    func readModelMetadata() throws -> ModelMetadata {
        guard let arch = metadata["general.architecture"]?.asString else {
            throw PonderError.badModel("metadata 'general.architecture' is missing")
        }
        guard arch == ModelKeys.architecture else {
            throw PonderError.badModel("architecture '\(arch)' is not '\(ModelKeys.architecture)'")
        }
        let k = ModelKeys.key
        let grammar = try int(k("plan.grammar_version"), in: 0...Int(Int32.max))
        let world = try int(k("world.version"), in: 0...Int(Int32.max))
        let words = try strings(k("vocab.tokens"))
        guard words.count <= 1 << 16 else { throw PonderError.badModel("vocabulary has \(words.count) words; at most 65536") }
        let codebook = try int(k("image.codebook_size"), in: 2...65536)
        let hp = HyperParameters(
            contextLength: try int(k("context_length"), in: 8...HyperParameters.maxContextLength),
            dim: try int(k("embedding_length"), in: 32...16384),
            layers: try int(k("block_count"), in: 1...256),
            heads: try int(k("attention.head_count"), in: 1...256),
            kvHeads: try int(k("attention.head_count_kv"), in: 1...256),
            ffnDim: try int(k("feed_forward_length"), in: 32...65536),
            normEpsilon: try float(k("attention.layer_norm_rms_epsilon")),
            ropeBase: try float(k("rope.freq_base"), default: 10000),
            vocabSize: words.count + codebook,
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
        return ModelMetadata(hyperParameters: hp, words: words, planGrammarVersion: grammar, worldVersion: world)
    }
}
