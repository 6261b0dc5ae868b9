import CPonderKernels
#if canImport(Glibc)
import Glibc
#endif

/// The Llama-architecture transformer's weights, read in place from the model file:
/// RMSNorm, rotary position embedding on interleaved pairs (llama.cpp's "normal" rope, so
/// the same weights run there unchanged), grouped-query attention, SwiGLU feed-forward.
final class TransformerWeights: @unchecked Sendable {
    struct Layer {
        let attnNorm: [Float]
        let wq, wk, wv, wo: Matrix
        let ffnNorm: [Float]
        let gate, up, down: Matrix
    }

    let hp: HyperParameters
    let embedding: Matrix
    let layers: [Layer]
    let outputNorm: [Float]
    let output: Matrix
    /// cos and sin of every (position, pair) angle, [contextLength][headDim / 2].
    let ropeCos: [Float]
    let ropeSin: [Float]
    let parameterCount: Int
    /// The packed copies the matrices multiply (on processors where packing pays).
    private let packs: PackedMatrices

    init(file: GGUFFile, hp: HyperParameters) throws {
        self.hp = hp
        var count = 0
        let packs = PackedMatrices()
        self.packs = packs
        func matrix(_ name: String, cols: Int, rows: Int, types: Set<GGUFFile.TensorType> = [.q8_0]) throws -> Matrix {
            guard let t = file.tensor(name) else { throw PonderError.badModel("tensor '\(name)' is missing") }
            guard t.dims == [cols, rows] else {
                throw PonderError.badModel("tensor '\(name)' has shape \(t.dims), expected [\(cols), \(rows)]")
            }
            guard types.contains(t.type) else {
                throw PonderError.badModel("tensor '\(name)' has type \(t.type), expected one of \(types.map { "\($0)" }.sorted())")
            }
            count += t.elementCount
            return Matrix(rows: rows, cols: cols, type: t.type, data: file.data(of: t))
        }
        // A matrix the transformer multiplies: Q8_0, packed where the processor pays for it.
        func multiplied(_ name: String, cols: Int, rows: Int) throws -> Matrix {
            try packs.pack(try matrix(name, cols: cols, rows: rows), of: file)
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] {
            try matrix(name, cols: n, rows: 1, types: [.f32, .f16]).floats()
        }
        // A 1-D tensor is stored with one dimension; accept [n] as well as [n, 1].
        func norm(_ name: String, _ n: Int) throws -> [Float] {
            if let t = file.tensor(name), t.dims == [n] {
                guard t.type == .f32 || t.type == .f16 else { throw PonderError.badModel("tensor '\(name)' must be F32 or F16") }
                count += n
                return Matrix(rows: 1, cols: n, type: t.type, data: file.data(of: t)).floats()
            }
            return try vector(name, n)
        }

        let d = hp.dim, hd = hp.headDim
        embedding = try matrix("token_embd.weight", cols: d, rows: hp.vocabSize, types: [.f32, .f16, .q8_0])
        var layers: [Layer] = []
        for i in 0..<hp.layers {
            let p = "blk.\(i)."
            layers.append(Layer(
                attnNorm: try norm(p + "attn_norm.weight", d),
                wq: try multiplied(p + "attn_q.weight", cols: d, rows: hp.heads * hd),
                wk: try multiplied(p + "attn_k.weight", cols: d, rows: hp.kvHeads * hd),
                wv: try multiplied(p + "attn_v.weight", cols: d, rows: hp.kvHeads * hd),
                wo: try multiplied(p + "attn_output.weight", cols: hp.heads * hd, rows: d),
                ffnNorm: try norm(p + "ffn_norm.weight", d),
                gate: try multiplied(p + "ffn_gate.weight", cols: d, rows: hp.ffnDim),
                up: try multiplied(p + "ffn_up.weight", cols: d, rows: hp.ffnDim),
                down: try multiplied(p + "ffn_down.weight", cols: hp.ffnDim, rows: d)))
        }
        self.layers = layers
        outputNorm = try norm("output_norm.weight", d)
        output = try multiplied("output.weight", cols: d, rows: hp.vocabSize)
        parameterCount = count

        let pairs = hd / 2
        var cosT = [Float](repeating: 0, count: hp.contextLength * pairs)
        var sinT = cosT
        for pos in 0..<hp.contextLength {
            for i in 0..<pairs {
                let freq = pow(Double(hp.ropeBase), -Double(2 * i) / Double(hd))
                let angle = Double(pos) * freq
                cosT[pos * pairs + i] = Float(cos(angle))
                sinT[pos * pairs + i] = Float(sin(angle))
            }
        }
        ropeCos = cosT
        ropeSin = sinT
    }
}

/// One sequence's key/value cache and the tokens it holds.
struct KVCache {
    /// [layer][position][kvHeads * headDim], in half precision (IEEE binary16, as llama.cpp
    /// keeps its cache): attention reads the whole cache for every token, so halving its
    /// bytes halves that traffic.
    let keys: UnsafeMutablePointer<UInt16>
    let values: UnsafeMutablePointer<UInt16>
    var tokens: [Int32] = []
}

/// The transformer's working memory for one session: caches for up to three sequences (the
/// conditional and the unconditional one of classifier-free guidance, and one for reading an
/// image back into a plan while a drawing's caches are kept) and scratch buffers
/// sized once, so generating a token allocates nothing.
final class TransformerState {
    let w: TransformerWeights
    let hp: HyperParameters
    let pool: ThreadPool
    private var caches: [KVCache]
    /// The most tokens one forward call takes.
    let maxBatch: Int

    // Activations for a batch of up to maxBatch items, item b's row at b × its width, as
    // llama2.c's RunState names them:
    /// The residual stream, [maxBatch][dim].
    private let x: UnsafeMutablePointer<Float>
    /// x normalized (the input of q, k, v and of gate, up), then attention's output (the
    /// input of wo), [maxBatch][dim]; for the logits, the final norm of each sequence's last item.
    private let xb: UnsafeMutablePointer<Float>
    /// The output of wo and of down, which the residual adds to x, [maxBatch][dim].
    private let xb2: UnsafeMutablePointer<Float>
    /// Queries, [maxBatch][heads × headDim]; keys and values, [maxBatch][kvHeads × headDim].
    private let q, k, v: UnsafeMutablePointer<Float>
    /// Attention scores, [maxBatch × heads][contextLength].
    private let att: UnsafeMutablePointer<Float>
    /// The feed-forward's gate (then SiLU(gate) · up) and up, [maxBatch][ffnDim].
    private let hb, hb2: UnsafeMutablePointer<Float>
    /// The logits after the last token of each sequence, [sequences][vocabSize].
    private let logits: UnsafeMutablePointer<Float>
    /// The logits after every token of a speculative pass (`speculate`), item b's row at
    /// b × vocabSize, [speculatedItems][vocabSize]; only the rows asked for are written.
    private let draftLogits: UnsafeMutablePointer<Float>
    /// A matmul's input batch quantized per 32 values, for Q8_0 weights.
    private let xq: UnsafeMutablePointer<pk_block_q8>
    private var buffers: [UnsafeMutableRawPointer] = []
    private var pending: [(seq: Int, token: Int32, pos: Int)] = []
    /// Runs of pending items at consecutive positions of one sequence, the attention's jobs.
    private var attentionRuns: [(start: Int, count: Int)] = []

    static let sequences = 3
    /// The most items (tokens over all sequences) one speculative pass takes.
    static let speculatedItems = 32
    /// Prompt and plan are fed in batches of at most this many tokens.
    static let batchLimit = 128

    init(weights: TransformerWeights, pool: ThreadPool) throws {
        w = weights
        hp = weights.hp
        self.pool = pool
        maxBatch = min(hp.contextLength, TransformerState.batchLimit)
        var made: [UnsafeMutableRawPointer] = []
        func raw(_ n: Int, _ size: Int, _ what: String) throws -> UnsafeMutableRawPointer {
            guard let p = calloc(max(n, 1), size) else {
                for p in made { free(p) }
                throw PonderError(.outOfMemory, "cannot allocate \(n) values of \(size) bytes for \(what)")
            }
            made.append(p)
            return p
        }
        func buffer(_ n: Int, _ what: String) throws -> UnsafeMutablePointer<Float> {
            try raw(n, MemoryLayout<Float>.size, what).bindMemory(to: Float.self, capacity: n)
        }
        func halves(_ n: Int, _ what: String) throws -> UnsafeMutablePointer<UInt16> {
            try raw(n, MemoryLayout<UInt16>.size, what).bindMemory(to: UInt16.self, capacity: n)
        }
        let kvDim = hp.kvHeads * hp.headDim
        let cacheSize = hp.layers * hp.contextLength * kvDim
        var caches: [KVCache] = []
        for _ in 0..<TransformerState.sequences {
            caches.append(KVCache(keys: try halves(cacheSize, "the key cache"), values: try halves(cacheSize, "the value cache")))
            caches[caches.count - 1].tokens.reserveCapacity(hp.contextLength)
        }
        self.caches = caches
        x = try buffer(maxBatch * hp.dim, "activations")
        xb = try buffer(maxBatch * hp.dim, "activations")
        xb2 = try buffer(maxBatch * hp.dim, "activations")
        q = try buffer(maxBatch * hp.dim, "activations")
        k = try buffer(maxBatch * kvDim, "activations")
        v = try buffer(maxBatch * kvDim, "activations")
        att = try buffer(maxBatch * hp.heads * hp.contextLength, "attention scores")
        hb = try buffer(maxBatch * hp.ffnDim, "activations")
        hb2 = try buffer(maxBatch * hp.ffnDim, "activations")
        logits = try buffer(TransformerState.sequences * hp.vocabSize, "logits")
        draftLogits = try buffer(TransformerState.speculatedItems * hp.vocabSize, "logits")
        let blocks = maxBatch * (max(hp.dim, hp.ffnDim, hp.heads * hp.headDim) + 31) / 32
        guard let blockMemory = calloc(blocks, MemoryLayout<pk_block_q8>.stride) else {
            for p in made { free(p) }
            throw PonderError(.outOfMemory, "cannot allocate the quantized activations")
        }
        xq = blockMemory.assumingMemoryBound(to: pk_block_q8.self)
        buffers = made
        pending.reserveCapacity(maxBatch)
    }

    deinit {
        for p in buffers { free(p) }
        free(xq)
    }

    /// The logits that the last `forward` produced for sequence `seq`.
    func logits(of seq: Int) -> UnsafeMutablePointer<Float> { logits + seq * hp.vocabSize }

    /// How many tokens sequence `seq` holds.
    func count(of seq: Int) -> Int { caches[seq].tokens.count }

    /// Drops cached positions from `length` on.
    func truncate(_ seq: Int, to length: Int) {
        if caches[seq].tokens.count > length { caches[seq].tokens.removeLast(caches[seq].tokens.count - length) }
    }

    /// Makes sequence `seq` hold exactly `tokens` (at least one) and computes the logits after
    /// the last: the cached positions of the longest common prefix are kept, short of the last
    /// token, whose logits must be computed.
    func set(_ seq: Int, to tokens: [Int32]) throws {
        let cached = caches[seq].tokens
        var common = 0
        while common < min(cached.count, tokens.count - 1) && cached[common] == tokens[common] { common += 1 }
        truncate(seq, to: common)
        try append(seq, Array(tokens[common...]))
    }

    /// Appends `tokens` to sequence `seq`'s cache and computes the logits after the last of
    /// them. Several sequences can be advanced in one pass over the weights with `step`.
    func append(_ seq: Int, _ tokens: [Int32]) throws {
        var start = 0
        while start < tokens.count {
            let end = min(tokens.count, start + maxBatch)
            try run { for token in tokens[start..<end] { try enqueue(seq, token) } }
            start = end
        }
    }

    /// Appends the same `tokens` to sequences 0..<count in one pass over the weights and keeps,
    /// after every token, the logits of vocabulary rows `rows` (read with `logits(of:after:)`):
    /// the verification pass of speculative decoding, where each token's logits decide whether
    /// the next one stands. Each item's logits are computed exactly as a one-token step would
    /// compute them (every kernel treats the items of a batch independently), so drafts that are
    /// kept leave the drawing byte for byte as it would have been.
    func speculate(_ tokens: [Int32], sequences count: Int, rows: Range<Int>) throws {
        guard !tokens.isEmpty, tokens.count * count <= min(maxBatch, TransformerState.speculatedItems),
              rows.lowerBound >= 0, rows.upperBound <= hp.vocabSize else {
            throw PonderError(.internal, "a speculative pass of \(tokens.count) tokens × \(count) sequences, rows \(rows)")
        }
        pending.removeAll(keepingCapacity: true)
        for seq in 0..<count { for token in tokens { try enqueue(seq, token) } }
        forward(everyItem: rows)
        for item in pending { caches[item.seq].tokens.append(item.token) }
    }

    /// The logits of the rows a `speculate` pass asked for, after token `item` of sequence `seq`
    /// of that pass (`tokens` is the number of tokens it fed each sequence); indexed by
    /// vocabulary id.
    func logits(of seq: Int, after item: Int, tokens: Int) -> UnsafePointer<Float> {
        UnsafePointer(draftLogits + (seq * tokens + item) * hp.vocabSize)
    }

    /// Makes the logits after token `item` of the last `speculate` pass (rows `rows`) sequence
    /// `seq`'s current logits, as if that token had been the last one fed.
    func adoptLogits(of seq: Int, after item: Int, tokens: Int, rows: Range<Int>) {
        let from = draftLogits + (seq * tokens + item) * hp.vocabSize, to = logits + seq * hp.vocabSize
        (to + rows.lowerBound).update(from: from + rows.lowerBound, count: rows.count)
    }

    /// One pass over the weights for a batch of (sequence, token) items; each item goes at the
    /// next position of its sequence. Logits are kept for the last item of each sequence.
    func step(_ items: [(seq: Int, token: Int32)]) throws {
        guard items.count <= maxBatch else { throw PonderError(.internal, "batch of \(items.count) exceeds \(maxBatch)") }
        try run { for item in items { try enqueue(item.seq, item.token) } }
    }

    /// Appends the same token to sequences 0..<count in one pass over the weights: the
    /// per-image-token path (count 2 with guidance), which allocates nothing.
    func advance(_ token: Int32, sequences count: Int) throws {
        try run { for seq in 0..<count { try enqueue(seq, token) } }
    }

    /// One pass over the weights for the items `enqueue` calls in `batch` add (at most maxBatch);
    /// the cache then holds their tokens.
    private func run(_ batch: () throws -> Void) throws {
        pending.removeAll(keepingCapacity: true)
        try batch()
        guard !pending.isEmpty else { return }
        forward()
        for item in pending { caches[item.seq].tokens.append(item.token) }
    }

    private func enqueue(_ seq: Int, _ token: Int32) throws {
        guard seq >= 0, seq < caches.count else { throw PonderError(.internal, "bad sequence \(seq)") }
        guard token >= 0, Int(token) < hp.vocabSize else { throw PonderError(.internal, "token \(token) outside the vocabulary") }
        var pos = caches[seq].tokens.count
        for p in pending where p.seq == seq { pos += 1 }
        guard pos < hp.contextLength else {
            pending.removeAll(keepingCapacity: true)
            throw PonderError.invalidArgument("the sequence would exceed the model's context of \(hp.contextLength) tokens")
        }
        pending.append((seq, token, pos))
    }

    /// One pass over the pending items. Logits are made for the last item of each sequence,
    /// or, with `everyItem`, for rows `everyItem` of every item (into draftLogits).
    private func forward(everyItem: Range<Int>? = nil) {
        let n = pending.count
        let d = hp.dim, hd = hp.headDim, kvDim = hp.kvHeads * hd, ffn = hp.ffnDim
        let ctx = hp.contextLength
        for (b, item) in pending.enumerated() { w.embedding.row(Int(item.token), into: x + b * d) }
        attentionRuns.removeAll(keepingCapacity: true)
        for (b, item) in pending.enumerated() {
            if let last = attentionRuns.last, last.count < Int(PK_ATTEND_ROWS), pending[b - 1].seq == item.seq,
               pending[b - 1].pos + 1 == item.pos {
                attentionRuns[attentionRuns.count - 1].count += 1
            } else {
                attentionRuns.append((b, 1))
            }
        }

        for (l, layer) in w.layers.enumerated() {
            layer.attnNorm.withUnsafeBufferPointer { nw in
                forEachItem(n, width: d) { b in rmsNorm(x + b * d, nw.baseAddress!, xb + b * d, n: d, eps: hp.normEpsilon) }
            }
            matmul((layer.wq, q), (layer.wk, k), (layer.wv, v), input: xb, n)

            // Rotary embedding on interleaved pairs, then store keys and values in the cache.
            forEachItem(n, width: d + kvDim) { b in
                let item = pending[b]
                rope(q + b * d, heads: hp.heads, pos: item.pos)
                rope(k + b * kvDim, heads: hp.kvHeads, pos: item.pos)
                let cache = caches[item.seq]
                let offset = (l * ctx + item.pos) * kvDim
                pk_store_halves(k + b * kvDim, cache.keys + offset, Int32(kvDim))
                pk_store_halves(v + b * kvDim, cache.values + offset, Int32(kvDim))
            }

            // Attention: each item sees its own sequence up to its position (causal).
            let group = hp.heads / hp.kvHeads
            let scale = 1 / Float(hd).squareRoot()
            // Each (item, head) job reads its keys and values up to its position: 2 · headDim
            // multiply-adds per position.
            // Jobs are runs of items at consecutive positions of one sequence (a prefill, a
            // speculative pass), one head each: the run's queries share each key and value
            // converted from halves (pk_attend_rows, the same bits as one query at a time).
            let positions = pending.reduce(0) { $0 + $1.pos + 1 }
            pool.parallelFor(attentionRuns.count * hp.heads, work: positions * hp.heads * 2 * hd) { range in
                for job in range {
                    let run = attentionRuns[job / hp.heads], h = job % hp.heads
                    let item = pending[run.start]
                    let cache = caches[item.seq]
                    let base = l * ctx * kvDim + (h / group) * hd
                    let b = run.start
                    pk_attend_rows(q + b * d + h * hd, d, Int32(run.count), cache.keys + base, cache.values + base, kvDim,
                                   Int32(item.pos + 1), Int32(hd), scale, att + (b * hp.heads + h) * ctx, hp.heads * ctx,
                                   xb + b * d + h * hd, d)
                }
            }
            matmul((layer.wo, xb2), input: xb, n)
            addResidual(n)

            layer.ffnNorm.withUnsafeBufferPointer { nw in
                forEachItem(n, width: d) { b in rmsNorm(x + b * d, nw.baseAddress!, xb + b * d, n: d, eps: hp.normEpsilon) }
            }
            matmul((layer.gate, hb), (layer.up, hb2), input: xb, n)
            forEachItem(n, width: ffn) { b in pk_swiglu(hb + b * ffn, hb2 + b * ffn, hb + b * ffn, Int32(ffn)) }
            matmul((layer.down, xb2), input: hb, n)
            addResidual(n)
        }

        if let rows = everyItem {
            w.outputNorm.withUnsafeBufferPointer { nw in
                forEachItem(n, width: d) { b in rmsNorm(x + b * d, nw.baseAddress!, xb + b * d, n: d, eps: hp.normEpsilon) }
            }
            matmul((w.output, draftLogits), input: xb, n, rows: rows)
            return
        }
        // Logits only for the last item of each sequence in the batch.
        for seq in 0..<caches.count {
            guard let b = pending.lastIndex(where: { $0.seq == seq }) else { continue }
            w.outputNorm.withUnsafeBufferPointer { nw in
                rmsNorm(x + b * d, nw.baseAddress!, xb + seq * d, n: d, eps: hp.normEpsilon)
            }
        }
        let has0 = pending.contains { $0.seq == 0 }, has1 = pending.contains { $0.seq == 1 }
        if has0 && has1 {
            matmul((w.output, logits), input: xb, 2)
        } else if has0 || has1 {
            let only = has0 ? 0 : 1
            matmul((w.output, logits + only * hp.vocabSize), input: xb + only * d, 1)
        }
        for seq in 2..<caches.count where pending.contains(where: { $0.seq == seq }) {
            matmul((w.output, logits + seq * hp.vocabSize), input: xb + seq * d, 1)
        }
    }

    /// Runs body(b) for every batch item, each about `width` operations: across the pool only
    /// when the batch is large enough to pay for the handoff (ThreadPool.grain). The items
    /// are independent, so the split changes no result.
    private func forEachItem(_ n: Int, width: Int, _ body: (Int) -> Void) {
        pool.parallelFor(n, work: n * width) { range in for b in range { body(b) } }
    }

    /// out = m · input for the batch, for one matrix or for two or three of the same input
    /// (q, k and v; gate and up) as one job over all their rows: one quantization of the input
    /// and one handoff to the workers instead of one per matrix. Each output is computed the
    /// same way whichever matrices share the job and whichever rows a thread gets.
    /// With `rows`, only those rows of `a` (alone) are computed, still written at their place.
    private func matmul(_ a: (Matrix, UnsafeMutablePointer<Float>), _ b: (Matrix, UnsafeMutablePointer<Float>)? = nil,
                        _ c: (Matrix, UnsafeMutablePointer<Float>)? = nil, input: UnsafePointer<Float>, _ batch: Int,
                        rows only: Range<Int>? = nil) {
        // The loader gives all of them the input's width, so one quantization serves them all.
        a.0.quantize(input, batch: batch, into: xq)
        let xq = UnsafePointer(self.xq)
        let first = only?.lowerBound ?? 0
        let na = only?.count ?? a.0.rows, nb = b?.0.rows ?? 0, rows = na + nb + (c?.0.rows ?? 0)
        pool.parallelFor(rows, work: rows * a.0.cols * batch) { range in
            func part(_ m: Matrix, _ out: UnsafeMutablePointer<Float>, from start: Int, count: Int, offset: Int = 0) {
                let lo = max(range.lowerBound, start) - start, hi = min(range.upperBound, start + count) - start
                if lo < hi { m.multiply(xq, batch: batch, into: out, rows: (offset + lo)..<(offset + hi)) }
            }
            part(a.0, a.1, from: 0, count: na, offset: first)
            if let b { part(b.0, b.1, from: na, count: nb) }
            if let c { part(c.0, c.1, from: na + nb, count: c.0.rows) }
        }
    }

    /// The residual connection: x += xb2 for every item of the batch.
    private func addResidual(_ n: Int) {
        let d = hp.dim
        forEachItem(n, width: d) { b in for i in (b * d)..<((b + 1) * d) { x[i] += xb2[i] } }
    }

    /// out = x / rms(x) · weight, for one vector of `n` values.
    private func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                         n: Int, eps: Float) {
        var ss: Float = 0
        for i in 0..<n { ss += x[i] * x[i] }
        let scale = 1 / (ss / Float(n) + eps).squareRoot()
        for i in 0..<n { out[i] = x[i] * scale * weight[i] }
    }

    private func rope(_ vec: UnsafeMutablePointer<Float>, heads: Int, pos: Int) {
        let hd = hp.headDim, pairs = hd / 2
        w.ropeCos.withUnsafeBufferPointer { cosT in
            w.ropeSin.withUnsafeBufferPointer { sinT in
                for h in 0..<heads {
                    let p = vec + h * hd
                    for i in 0..<pairs {
                        let c = cosT[pos * pairs + i], s = sinT[pos * pairs + i]
                        let a = p[2 * i], b = p[2 * i + 1]
                        p[2 * i] = a * c - b * s
                        p[2 * i + 1] = a * s + b * c
                    }
                }
            }
        }
    }
}
