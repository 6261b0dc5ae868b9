// Thinking: a prompt checked against the prompt language, then plans written under the
// plan grammar until one satisfies it (docs/plan.md).

extension Session {
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
}
