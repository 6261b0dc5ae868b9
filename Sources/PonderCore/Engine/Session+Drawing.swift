// Drawing: the image tokens in raster order after the prompt and plan, guided by the
// unconditional sequence when the session is (classifier-free guidance).

extension Session {
    /// Generates up to `maxTokens` more image tokens; returns how many are done and remain.
    ///
    /// Tokens are drawn by speculative decoding (Jacobi style, as in Lumina-mGPT 2.0): each
    /// pass over the weights feeds the token just sampled together with up to
    /// `parameters.draftTokens` drafted tokens after it, and samples the next token from each fed token's
    /// logits, in order, for as long as each sample equals the draft fed at its position. A
    /// sample is always taken from the logits of exactly the tokens drawn before it, with the
    /// sampler's draws in the same order, so the tokens are those of one-at-a-time drawing
    /// byte for byte, whatever the drafts and whatever `maxTokens` cuts the drawing into; the
    /// drafts only decide how many tokens a pass yields. The drafts are the guided argmax of
    /// the previous pass at the positions after its first rejection (Jacobi iteration), then
    /// the code above (raster order repeats along columns).
    @discardableResult
    public func step(_ maxTokens: Int) throws -> (done: Int, remaining: Int) {
        guard maxTokens >= 0 else { throw PonderError.invalidArgument("token count \(maxTokens) must not be negative") }
        guard let prompt else { throw PonderError.wrongState("call plan(prompt:) before step") }
        let total = totalTokens
        if codes.count < total && maxTokens > 0 && !drawing {
            try startDrawing(prompt)
        }
        let vocab = model.vocabulary
        let offset = Int32(vocab.imageCodeOffset)
        let codeRows = vocab.imageCodeOffset..<(vocab.imageCodeOffset + vocab.codebookSize)
        let sequences = guided ? 2 : 1
        var made = 0
        var pending: Int32? = nil  // drawn, not yet fed
        while true {
            if pending == nil {
                guard made < maxTokens && codes.count < total else { break }
                let token = sampleImageToken(state.logits(of: 0), state.logits(of: 1))
                codes.append(token - offset)
                made += 1
                if codes.count == total {
                    try check()
                    break
                }
                pending = token
            }
            let token = pending!
            pending = nil
            // Drafts never reach the image's last code (which is never fed), and a pass never
            // draws more than this call may return.
            let room = min(parameters.draftTokens, total - codes.count - 1, maxTokens - made - 1)
            guard room > 0 else {
                try state.advance(token, sequences: sequences)
                    continue
            }
            let fed = [token] + draftTokens(room)
            let starts = (0..<sequences).map { state.count(of: $0) }
            try state.speculate(fed, sequences: sequences, rows: codeRows)
            // fed[j]'s logits give the code after it, exactly, while fed[1...j] are the codes drawn.
            var j = 0
            while j + 1 < fed.count {
                let sample = sampleImageToken(state.logits(of: 0, after: j, tokens: fed.count),
                                              state.logits(of: sequences - 1, after: j, tokens: fed.count))
                codes.append(sample - offset)
                made += 1
                if sample != fed[j + 1] {
                    pending = sample
                    break
                }
                j += 1
            }
            // Jacobi drafts for the next pass: the argmax after each fed token from fed[j + 1] on
            // (after a rejected draft, a guess from a slightly wrong past, right more often than not).
            var next: [Int32] = []
            if j + 1 < fed.count {
                for item in (j + 1)..<fed.count {
                    next.append(sampleImageToken(state.logits(of: 0, after: item, tokens: fed.count),
                                                 state.logits(of: sequences - 1, after: item, tokens: fed.count),
                                                 with: reader))
                }
            }
            drafts = (from: codes.count, tokens: next)
            for seq in 0..<sequences {
                state.truncate(seq, to: starts[seq] + j + 1)
                state.adoptLogits(of: seq, after: j, tokens: fed.count, rows: codeRows)
            }
        }
        return (codes.count, total - codes.count)
    }

    /// `count` drafted tokens for the codes from codes.count on (the last code drawn is fed first): the Jacobi drafts of the
    /// last pass where they reach, then the code above each.
    private func draftTokens(_ count: Int) -> [Int32] {
        let offset = Int32(model.vocabulary.imageCodeOffset)
        let columns = model.hyperParameters.gridWidth
        var out: [Int32] = []
        out.reserveCapacity(count)
        for k in 0..<count {
            let index = codes.count + k
            let fromLast = index - drafts.from
            if fromLast >= 0 && fromLast < drafts.tokens.count {
                out.append(drafts.tokens[fromLast])
            } else if index >= columns {
                out.append(index - columns < codes.count ? codes[index - columns] + offset : out[index - columns - codes.count])
            } else {
                out.append(codes[codes.count - 1] + offset)
            }
        }
        return out
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
            // A pass's worth of tokens a call: the token drawn, its drafts, the one after
            // (one token without drafts).
            let r = try step(parameters.draftTokens == 0 ? 1 : parameters.draftTokens + 2)
            if let progress, !progress(r.done, totalTokens), r.remaining > 0 { return false }
        }
        return true
    }

    /// Samples the next image token (a vocabulary id) from the logits of sequences 0 and 1,
    /// guided when the session is.
    func sampleImageToken() -> Int32 {
        sampleImageToken(state.logits(of: 0), state.logits(of: 1))
    }

    /// Samples an image token from the given conditional and unconditional logits (indexed by
    /// vocabulary id), with the session's sampler or another (the greedy `reader`
    /// gives the guided argmax, which speculative drawing takes as its drafts).
    func sampleImageToken(_ cond: UnsafePointer<Float>, _ uncond: UnsafePointer<Float>, with sampler: Sampler? = nil) -> Int32 {
        let vocab = model.vocabulary
        let offset = vocab.imageCodeOffset, k = vocab.codebookSize
        let scale = cfgScale, guided = self.guided
        return (sampler ?? self.sampler).sample(count: k) { ids, out in
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
