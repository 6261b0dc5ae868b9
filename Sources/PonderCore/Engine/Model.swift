import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// A loaded model: the file's bytes, its checked facts, the transformer weights (read in
/// place), the VQ decoder and, when the file has one, the VQ encoder. Immutable once made, so any number of sessions on any threads
/// may share it.
public final class Model: @unchecked Sendable {
    public let file: GGUFFile
    public let hyperParameters: HyperParameters
    public let vocabulary: Vocabulary
    let weights: TransformerWeights
    let decoder: VQDecoder
    /// nil for a model file without an encoder: it draws but cannot read images.
    let encoder: VQEncoder?
    /// The encoder's codes for a picture of the background alone (on white), which an edit
    /// gives cells that no object reaches; nil without an encoder.
    let blankCodes: [Int32]?

    /// Whether the model can read pictures: it has an encoder and the `<describe>` token.
    public var canReadImages: Bool { encoder != nil && vocabulary.describe != nil }

    public var parameterCount: Int { weights.parameterCount + decoder.parameterCount + (encoder?.parameterCount ?? 0) }

    public convenience init(path: String) throws {
        try self.init(file: GGUFFile(path: path))
    }

    /// Checks and loads a parsed file: hyperparameters, every tensor's role, the decoder.
    public init(file: GGUFFile) throws {
        self.file = file
        let metadata = try file.readModelMetadata()
        hyperParameters = metadata.hyperParameters
        vocabulary = try metadata.checkedVocabulary()
        weights = try TransformerWeights(file: file, hp: hyperParameters)
        decoder = try VQDecoder(file: file, hp: hyperParameters)
        encoder = try VQEncoder(file: file, hp: hyperParameters, decoder: decoder)
        let white = [UInt8](repeating: 255, count: hyperParameters.imageWidth * hyperParameters.imageHeight * 3)
        blankCodes = try encoder.map { e in try white.withUnsafeBufferPointer { try e.encode(rgb: $0.baseAddress!) } }
        // The engine splits work across its own threads; OpenBLAS's pool would fight them and
        // make results depend on scheduling.
        openblas_set_num_threads(1)
    }

    /// Token ids of a prompt's words; onWhite leaves out its background phrase.
    func tokens(_ prompt: Prompt, onWhite: Bool = false) throws -> [Int32] {
        try (onWhite ? prompt.wordsOnWhite : prompt.words).map { word in
            guard let id = vocabulary.id(word) else { throw PonderError.badPrompt("the model's vocabulary lacks '\(word)'") }
            return id
        }
    }

    func tokens(_ plan: Plan) -> [Int32] {
        // Load checked that every plan word is in the vocabulary.
        plan.words.map { vocabulary.id($0)! }
    }
}
