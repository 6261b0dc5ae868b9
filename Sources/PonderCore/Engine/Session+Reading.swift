/// Reading pictures: an image in, its codes from the VQ encoder, and the plan the model
/// writes for them (describe: `<bos> <describe> CODES <think> PLAN </think>`, docs/format.md).
extension Session {
    /// The transformer sequence used for reading, apart from the drawing's two.
    static let readingSequence = 2

    /// Takes a picture as the session's image: checks its size against the model's, reads its
    /// background from the border, moves it onto white and encodes it into the codes that
    /// `codes`, `decode` and `describe` then use. Discards the prompt, plan and any drawing.
    public func setImage(_ image: RGBImage) throws {
        let hp = model.hyperParameters
        guard image.width == hp.imageWidth, image.height == hp.imageHeight else {
            throw PonderError.invalidArgument(
                "the image is \(image.width)×\(image.height) pixels; the model reads \(hp.imageWidth)×\(hp.imageHeight) "
                + "(scale it to that size first)")
        }
        let background = Background.detect(image.pixels, width: image.width, height: image.height)
        let encoded = try encode(image, background: background)
        prompt = nil
        plan = nil
        planAttemptsUsed = 0
        resetDrawing()
        imageBackground = background
        codes = encoded
        picture = image
    }

    /// The codes of a picture of the model's size, moved from `background` onto white first
    /// as the encoder was trained.
    func encode(_ image: RGBImage, background: Int) throws -> [Int32] {
        guard let encoder = model.encoder else {
            throw PonderError(.unsupported, "this model file has no image encoder ('ponder.encoder.ops'): it can draw but cannot read images")
        }
        var pixels = image.pixels
        return try pixels.withUnsafeMutableBufferPointer { buffer -> [Int32] in
            Background.move(buffer.baseAddress!, pixels: image.width * image.height, from: background, to: 0)
            return try encoder.encode(rgb: buffer.baseAddress!, pool: pool)
        }
    }

    /// Reads the session's image (set with setImage, or drawn) back into a plan: the model's
    /// likeliest plan for its codes under the plan grammar, with the background read from the
    /// pixels (a drawing's: the one it was laid on). Becomes the session's plan. Needs every
    /// image token.
    @discardableResult
    public func describe() throws -> Plan {
        guard codes.count == totalTokens else {
            throw PonderError.wrongState(codes.isEmpty ? "no image to describe: set one with setImage (ponder_set_image) or draw one"
                                                        : "the image is not finished: \(codes.count) of \(totalTokens) tokens drawn")
        }
        let background = self.background
        var read = try readPlan(codes: codes)
        read.background = background
        plan = read
        return read
    }

    /// The plan the model writes after `<bos> <describe> CODES <think>`, greedily under the
    /// plan grammar, on the reading sequence (a drawing's caches stay as they are). Its
    /// background is white: codes always describe a scene on white.
    func readPlan(codes: [Int32]) throws -> Plan {
        let vocab = model.vocabulary
        guard let describe = vocab.describe else {
            throw PonderError(.unsupported, "this model's vocabulary has no '<describe>' token: it cannot read images")
        }
        let sequence = [vocab.bos, describe] + codes.map { vocab.imageToken(code: Int($0)) } + [vocab.think]
        try feed(Session.readingSequence, sequence)
        return try writePlan(seq: Session.readingSequence, sampler: reader)
    }
}
