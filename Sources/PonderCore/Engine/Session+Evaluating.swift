// Raw evaluation of token ids, for parity checks and benchmarks (ponder_eval).

extension Session {
    /// Evaluates raw token ids: keeps the first `keep` tokens of the conditional sequence,
    /// appends `tokens` and copies the logits after the last one into `logits` (vocabSize
    /// values). For parity checks and benchmarks; the image in progress is discarded.
    public func evaluate(tokens: [Int32], keep: Int, logits: UnsafeMutableBufferPointer<Float>) throws {
        let hp = model.hyperParameters
        guard !tokens.isEmpty else { throw PonderError.invalidArgument("no tokens to evaluate") }
        guard keep >= 0, keep <= state.count(of: 0) else {
            throw PonderError.invalidArgument("n_past \(keep) exceeds the \(state.count(of: 0)) tokens evaluated so far")
        }
        guard tokens.count <= hp.contextLength - keep else {
            throw PonderError.invalidArgument("\(keep + tokens.count) tokens exceed the context of \(hp.contextLength)")
        }
        for t in tokens where t < 0 || Int(t) >= hp.vocabSize {
            throw PonderError.invalidArgument("token id \(t) is outside the vocabulary of \(hp.vocabSize)")
        }
        guard logits.count >= hp.vocabSize || logits.baseAddress == nil else {
            throw PonderError(.bufferTooSmall, "logits buffer holds \(logits.count) values; \(hp.vocabSize) needed")
        }
        resetDrawing()
        state.truncate(0, to: keep)
        try state.append(0, tokens)
        if let out = logits.baseAddress { out.update(from: state.logits(of: 0), count: hp.vocabSize) }
    }
}
