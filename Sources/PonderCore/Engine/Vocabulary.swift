// The one place where a model file meets the language: the file format (Format/) reads a
// vocabulary and version numbers without knowing the prompt language or the plan grammar
// (Language/); here both are held to each other.

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

    /// Checks that the words are distinct and include every word the prompt language and the
    /// plan grammar need. Throws `badModel` otherwise.
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

    /// The token id of image code `code` (0..<codebookSize).
    public func imageToken(code: Int) -> Int32 { Int32(imageCodeOffset + code) }
}

extension ModelMetadata {
    /// Holds what a file declares to the language this engine speaks and makes its vocabulary:
    /// the plan grammar and world versions, the words, a context long enough for the longest
    /// prompt, plan and image, and a guidance scale a caller could pass. Throws `badModel`.
    func checkedVocabulary() throws -> Vocabulary {
        let k = ModelKeys.key
        guard planGrammarVersion == Plan.grammarVersion else {
            throw PonderError.badModel("plan grammar version \(planGrammarVersion) is not supported (this engine reads \(Plan.grammarVersion))")
        }
        guard worldVersion == World.version else {
            throw PonderError.badModel("world version \(worldVersion) is not supported (this engine knows the Shapes world, version \(World.version))")
        }
        let hp = hyperParameters
        let vocab = try Vocabulary(words: words, codebookSize: hp.codebookSize)
        // Longest conditional sequence: <bos>, the longest prompt, thinking, <image>, the image.
        let needed = 1 + Prompt.maxWords + 2 + Plan.maxTokens + 1 + hp.imageTokens
        guard hp.contextLength >= needed else {
            throw PonderError.badModel("context length \(hp.contextLength) is shorter than the \(needed) tokens a prompt, plan and image need")
        }
        // Checked as a caller's scale is: a file may not ask for what a caller may not.
        if let problem = SessionParameters.cfgScaleProblem(hp.defaultCFGScale) {
            throw PonderError.badModel("metadata '\(k("sampling.cfg_scale"))': \(problem)")
        }
        return vocab
    }
}
