/// Checked drawing (docs/plan.md, "Checked drawing"): after the last image token the model
/// reads what it drew back into a plan, matches it against the plan it drew from, and
/// redraws only the cells of the objects that are wrong, missing or extra, keeping every
/// other cell's code (fed to the model, not sampled).
extension Session {
    /// How far a centre read back may lie from the planned one, in pixels per axis: one
    /// grid cell, the resolution of the codes the plan is read from.
    public static let checkTolerance = 8
    /// Cells redrawn around an object's box on each side: the codes just outside an object
    /// carry its anti-aliased edge.
    public static let redrawMargin = 1

    static let checkStream: UInt64 = 0x6368_6563_6B00_0000  // "check"

    /// Up to checkAttempts rounds of: read the image back; if it matches the plan, stop;
    /// else redraw the cells that differ.
    func check() throws {
        guard let plan else { return }
        let drawn = plan.objects
        for attempt in 1...parameters.checkAttempts {
            let seen = try readPlan(codes: codes).objects
            checksUsed += 1
            let cells = Session.cellsToRedraw(planned: drawn, seen: seen, hp: model.hyperParameters)
            if cells.isEmpty { return }
            try redraw(cells, attempt: attempt)
            redrawsUsed += 1
        }
    }

    /// The grid cells (raster indices, ascending) that cover, with the margin, every planned
    /// object not matched by an object read back and every object read back that matches no
    /// planned one. A match has the same shape, colour and size, and a centre within
    /// checkTolerance on both axes; each object matches at most one other, nearest first.
    static func cellsToRedraw(planned: [Plan.Object], seen: [Plan.Object], hp: HyperParameters) -> [Int] {
        var unmatchedSeen = Array(seen.indices)
        var wrong: [Plan.Object] = []
        for p in planned {
            var best: Int? = nil, bestDistance = Int.max
            for (k, i) in unmatchedSeen.enumerated() {
                let s = seen[i]
                let dx = abs(s.x - p.x), dy = abs(s.y - p.y)
                guard s.shape == p.shape, s.colour == p.colour, s.size == p.size,
                      dx <= checkTolerance, dy <= checkTolerance else { continue }
                if dx + dy < bestDistance { best = k; bestDistance = dx + dy }
            }
            if let best { unmatchedSeen.remove(at: best) } else { wrong.append(p) }
        }
        wrong += unmatchedSeen.map { seen[$0] }
        let cellW = hp.imageWidth / hp.gridWidth, cellH = hp.imageHeight / hp.gridHeight
        var mask = [Bool](repeating: false, count: hp.imageTokens)
        for o in wrong {
            let half = o.side / 2
            let x0 = max(0, (o.x - half) / cellW - redrawMargin), x1 = min(hp.gridWidth - 1, (o.x + half - 1) / cellW + redrawMargin)
            let y0 = max(0, (o.y - half) / cellH - redrawMargin), y1 = min(hp.gridHeight - 1, (o.y + half - 1) / cellH + redrawMargin)
            guard x0 <= x1, y0 <= y1 else { continue }
            for gy in y0...y1 {
                for gx in x0...x1 { mask[gy * hp.gridWidth + gx] = true }
            }
        }
        return mask.indices.filter { mask[$0] }
    }

    /// Resamples the image tokens at `cells` (ascending raster indices) in raster order, each
    /// conditioned on the drawing's context and every code before it; runs of kept codes in
    /// between are fed in batches. Seeded per attempt, so deterministic.
    func redraw(_ cells: [Int], attempt: Int) throws {
        guard let first = cells.first else { return }
        let vocab = model.vocabulary
        let total = totalTokens, guided = self.guided
        var redrawn = [Bool](repeating: false, count: total)
        for c in cells { redrawn[c] = true }
        let before = codes[..<first].map { vocab.imageToken(code: Int($0)) }
        try feed(0, drawContext + before)
        if guided { try feed(1, [vocab.bos, vocab.image] + before) }
        sampler.rng = RandomSource(seed: parameters.seed ^ Session.checkStream ^ UInt64(attempt))
        var i = first
        while i < total {
            if redrawn[i] {
                let token = sampleImageToken()
                codes[i] = token - Int32(vocab.imageCodeOffset)
                if i + 1 < total { try state.advance(token, sequences: guided ? 2 : 1) }
                i += 1
            } else {
                var end = i
                while end < total && !redrawn[end] { end += 1 }
                // The kept codes matter only as context for a later redrawn cell.
                if end < total {
                    let kept = codes[i..<end].map { vocab.imageToken(code: Int($0)) }
                    try appendKept(kept, guided: guided)
                }
                i = end
            }
        }
    }

    /// Feeds kept image tokens to the conditional (and, guided, the unconditional) sequence,
    /// both in each pass over the weights.
    private func appendKept(_ tokens: [Int32], guided: Bool) throws {
        let per = guided ? state.maxBatch / 2 : state.maxBatch
        var start = 0
        while start < tokens.count {
            let end = min(tokens.count, start + per)
            var items = tokens[start..<end].map { (seq: 0, token: $0) }
            if guided { items += tokens[start..<end].map { (seq: 1, token: $0) } }
            try state.step(items)
            start = end
        }
    }
}
