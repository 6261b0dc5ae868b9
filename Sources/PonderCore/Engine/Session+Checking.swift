/// Checked drawing (docs/plan.md, "Checked drawing"): after the last image token the model
/// reads what it drew back into a plan, matches it against the plan it drew from, and
/// redraws only the cells of the objects that are wrong, missing or extra, keeping every
/// other cell's code (fed to the model, not sampled).
extension Session {
    /// How far a centre read back may lie from the planned one, in pixels per axis: one
    /// grid cell, the resolution of the codes the plan is read from.
    public static let checkTolerance = 8
    /// The same for an edit's check (check(within:)): an edited picture is right only with
    /// every centre within 4 px of its plan (docs/canvas.md, "How well it works"), and the
    /// model reads centres finer than a cell. On validation scenes (training/edit_accuracy.py
    /// --scene-seed 31 --edit-seed 32, 100 of each) additions read right went 0.88 → 0.92
    /// and region redraws 0.90 → 0.91 against 8 px, at about 20 ms more each.
    public static let editTolerance = 4
    /// Cells redrawn around an object's box on each side: the codes just outside an object
    /// carry its anti-aliased edge.
    public static let redrawMargin = 1

    static let checkStream: UInt64 = 0x6368_6563_6B00_0000  // "check"

    /// Up to checkAttempts reads of the image: if it matches the plan, stop; else, unless
    /// that was the last read, redraw the cells that differ and read again. Every redraw is
    /// read back, and the image kept is the one read with the fewest wrong objects (the
    /// latest on a tie), so checking never leaves an image worse by its own measure. With
    /// `within`, only those cells are ever redrawn (an edit checks what it drew, and keeps
    /// the rest of the picture as it was) and centres must be read within editTolerance.
    /// Returns false when the image kept still has an object read wrong where a redraw
    /// (within `within`) could reach; true when it has none, or when nothing was checked.
    @discardableResult
    func check(within: CellMask? = nil) throws -> Bool {
        // Drawing without a plan has nothing to check against; a model without <describe>
        // cannot read its drawing.
        let reads = parameters.checkAttempts
        guard let plan, reads > 0, model.vocabulary.describe != nil else { return true }
        let drawn = plan.objects
        var best = (codes: codes, wrong: Int.max, clean: false)
        for attempt in 1...reads {
            let seen = try readPlan(codes: codes).objects
            checksUsed += 1
            var (cells, wrong) = Session.cellsToRedraw(planned: drawn, seen: seen, hp: model.hyperParameters,
                                                       tolerance: within == nil ? Session.checkTolerance : Session.editTolerance)
            if let within { cells = cells.filter { within[$0] } }
            if wrong <= best.wrong { best = (codes, wrong, cells.isEmpty) }
            if cells.isEmpty || attempt == reads { break }
            try redraw(cells, seed: parameters.seed ^ Session.checkStream ^ UInt64(attempt), progress: within == nil ? nil : editProgress)
            redrawsUsed += 1
        }
        codes = best.codes
        return best.clean
    }

    /// The grid cells (raster indices, ascending) that cover, with the margin, every object
    /// the image gets wrong. Two questions, asked apart because the model reads *which*
    /// objects a picture holds and *where* objects are far better than which is where (it
    /// often binds two objects' attributes to each other's places, docs/results.md):
    /// - where: each planned centre needs an object read within `tolerance` on both axes
    ///   (nearest first, one each); a planned object without one is missing, and an object
    ///   read where nothing is planned is extra;
    /// - what: the planned (shape, colour, size) that the objects read lack, counted as
    ///   multisets; each is redrawn at its planned place (where the object read there has
    ///   other attributes, else the first such planned object).
    /// Also returns how many objects are wrong (extra ones and planned ones).
    static func cellsToRedraw(planned: [Plan.Object], seen: [Plan.Object], hp: HyperParameters,
                              tolerance: Int = checkTolerance) -> (cells: [Int], wrong: Int) {
        func same(_ a: Plan.Object, _ b: Plan.Object) -> Bool { a.shape == b.shape && a.colour == b.colour && a.size == b.size }
        var wrong = [Bool](repeating: false, count: planned.count)
        var placed = [Int?](repeating: nil, count: planned.count)
        var free = Array(seen.indices)
        for (i, p) in planned.enumerated() {
            var best: Int? = nil, bestScore = Int.max
            for (k, j) in free.enumerated() {
                let dx = abs(seen[j].x - p.x), dy = abs(seen[j].y - p.y)
                guard dx <= tolerance, dy <= tolerance else { continue }
                let score = 2 * (dx + dy) + (same(seen[j], p) ? 0 : 1)  // nearest; the same kind on a tie
                if score < bestScore { best = k; bestScore = score }
            }
            if let best { placed[i] = free.remove(at: best) } else { wrong[i] = true }
        }
        var boxes = free.map { seen[$0] }  // extra objects first, then the wrong planned ones
        var unread = seen  // the objects read, each standing for one planned object at most
        var lacking: [Int] = []
        for (i, p) in planned.enumerated() {
            if let k = unread.firstIndex(where: { same($0, p) }) { unread.remove(at: k) } else { lacking.append(i) }
        }
        // A lacking kind is accounted for by a planned object of that kind already missing;
        // else it is redrawn where the object read has other attributes, else at the first
        // planned object of that kind not already redrawn.
        var lackingKinds = lacking.map { planned[$0] }
        var accounted = [Bool](repeating: false, count: planned.count)
        lackingKinds.removeAll { kind in
            guard let i = planned.indices.first(where: { wrong[$0] && !accounted[$0] && same(planned[$0], kind) }) else { return false }
            accounted[i] = true
            return true
        }
        for (i, p) in planned.enumerated() {
            guard let k = lackingKinds.firstIndex(where: { same($0, p) }), let j = placed[i], !same(seen[j], p) else { continue }
            wrong[i] = true
            lackingKinds.remove(at: k)
        }
        for kind in lackingKinds {
            if let i = planned.indices.first(where: { same(planned[$0], kind) && !wrong[$0] }) { wrong[i] = true }
        }
        boxes += planned.indices.filter { wrong[$0] }.map { planned[$0] }
        var mask = CellMask(hp)
        for o in boxes { mask.mark(PixelBox(o), margin: redrawMargin) }
        return (mask.indices, boxes.count)
    }

    /// Resamples the image tokens at `cells` (ascending raster indices) in raster order, each
    /// conditioned on the drawing's context and every code before it; runs of kept codes in
    /// between are fed in batches. Each caller gives its own seed, so deterministic.
    /// `progress` is called after each cell sampled (done, cells.count); false throws .cancelled.
    func redraw(_ cells: [Int], seed: UInt64, progress: ((Int, Int) -> Bool)? = nil) throws {
        guard let first = cells.first else { return }
        let vocab = model.vocabulary
        let total = totalTokens, guided = self.guided
        var redrawn = [Bool](repeating: false, count: total)
        for c in cells { redrawn[c] = true }
        let before = codes[..<first].map { vocab.imageToken(code: Int($0)) }
        try feed(0, drawContext + before)
        if guided { try feed(1, [vocab.bos, vocab.image] + before) }
        sampler.rng = RandomSource(seed: seed)
        var i = first, done = 0
        while i < total {
            if redrawn[i] {
                let token = sampleImageToken()
                codes[i] = token - Int32(vocab.imageCodeOffset)
                done += 1
                if let progress, !progress(done, cells.count) {
                    throw PonderError(.cancelled, "the edit was stopped by the progress callback after \(done) of \(cells.count) cells")
                }
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
