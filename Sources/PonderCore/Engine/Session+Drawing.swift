// Drawing: the image tokens in raster order after the prompt and plan, guided by the
// unconditional sequence when the session is (classifier-free guidance).

extension Session {
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
}
