import CPonderKernels
#if canImport(Glibc)
import Glibc
#endif

/// A list of image layers read from a model file: the operations named in a string array
/// (`ponder.decoder.ops`, `ponder.encoder.ops`) over convolutions stored as `PREFIX.NAME.*`
/// tensors (docs/format.md, "Decoder" and "Encoder"). The VQ decoder and the VQ encoder are
/// each one of these between their own first and last steps. Stride-1 convolutions (every
/// decoder layer) run as direct kernels (pk_conv2d), blocks of output channels and rows
/// split across the session's threads; a 3 × 3 one right after an upsample runs on the
/// input before it, in four phases (pk_conv2d_upsampled); stride-2 ones (the encoder's) run
/// as stride-1 convolutions of the input's space-to-depth rearrangement.
struct LayerStack: @unchecked Sendable {
    /// Activation shape: channels, rows, columns.
    struct Shape: Equatable { var c: Int, h: Int, w: Int }

    enum Op {
        /// A stride-2 convolution (even kernel k, padding (k − 2) / 2), run as the stride-1
        /// k/2 × k/2 convolution of its input's space-to-depth rearrangement (the 2 × 2
        /// phases of each channel as four channels), its weights rearranged to match and
        /// packed for pk_conv2d.
        case stridedConv(packed: [Float], bias: [Float], cin: Int, cout: Int, kernel: Int)
        /// A stride-1 convolution with an odd kernel, its weights packed for pk_conv2d.
        case directConv(packed: [Float], bias: [Float], cin: Int, cout: Int, kernel: Int)
        /// An upsample and the 3 × 3 convolution after it, as pk_conv2d_upsampled's four
        /// phases (their 2 × 2 weights packed): a quarter of the work of the two apart.
        case upsampledConv(phases: [[Float]], bias: [Float], cin: Int, cout: Int)
        case relu, silu, tanh, softmax, upsample, push, add
    }

    let ops: [Op]
    let input: Shape, output: Shape
    let parameterCount: Int
    /// Largest activation, and largest padded (or space-to-depth) input of a convolution, in
    /// floats, found when checking the layers on the whole picture (a window is smaller).
    private let maxActivation: Int
    private let maxColumns: Int

    /// Reads and checks the list `listKey` (its tensors `prefix.NAME.weight/bias`), walking
    /// the shapes from `input`; every activation must stay within `limit` rows and columns
    /// and the list must end in `output` with nothing saved. `what` names the stack in errors.
    init(file: GGUFFile, listKey: String, prefix: String, what: String, input: Shape, output: Shape, limit: Int) throws {
        let names = try file.strings(listKey)
        guard !names.isEmpty, names.count <= 256 else { throw PonderError.badModel("\(what) has \(names.count) layers (1 to 256 allowed)") }
        var ops: [Op] = []
        var s = input
        var stack: [Shape] = []
        var maxAct = s.c * s.h * s.w, maxCols = 0, count = 0
        for (i, name) in names.enumerated() {
            let parts = name.split(separator: " ").map(String.init)
            switch parts.first ?? "" {
            case "conv" where parts.count == 2 || (parts.count == 4 && parts[2] == "stride"):
                let stride = parts.count == 4 ? Int(parts[3]) ?? 0 : 1
                let wn = "\(prefix).\(parts[1]).weight", bn = "\(prefix).\(parts[1]).bias"
                guard let wt = file.tensor(wn), let bt = file.tensor(bn) else {
                    throw PonderError.badModel("\(what) layer \(i) ('\(name)'): tensors '\(wn)' and '\(bn)' are required")
                }
                guard stride == 1 || stride == 2 else {
                    throw PonderError.badModel("\(what) layer \(i) ('\(name)'): stride must be 1 or 2")
                }
                // Padding (k − stride) / 2 keeps a stride-1 convolution's size and halves it
                // at stride 2 (a 4 × 4 kernel with padding 1, as PyTorch's encoders use).
                guard wt.dims.count == 4, wt.dims[0] == wt.dims[1], wt.dims[0] >= stride, wt.dims[0] <= 7,
                      (wt.dims[0] - stride) % 2 == 0, wt.type == .f32 || wt.type == .f16 else {
                    throw PonderError.badModel("'\(wn)' must be an F32/F16 square kernel [k, k, in, out] with k − stride even and k ≤ 7, found \(wt.type) \(wt.dims)")
                }
                let k = wt.dims[0], cin = wt.dims[2], cout = wt.dims[3]
                guard cin == s.c else {
                    throw PonderError.badModel("\(what) layer \(i) ('\(name)') takes \(cin) channels but receives \(s.c)")
                }
                guard bt.dims == [cout], bt.type == .f32 || bt.type == .f16 else {
                    throw PonderError.badModel("'\(bn)' must be F32/F16 of shape [\(cout)]")
                }
                guard s.h % stride == 0, s.w % stride == 0 else {
                    throw PonderError.badModel("\(what) layer \(i) ('\(name)') halves an odd size \(s.h)×\(s.w)")
                }
                let weight = Matrix(rows: cout, cols: cin * k * k, type: wt.type, data: file.data(of: wt)).floats()
                let bias = Matrix(rows: 1, cols: cout, type: bt.type, data: file.data(of: bt)).floats()
                let out = Shape(c: cout, h: s.h / stride, w: s.w / stride)
                if stride == 1 && k == 3, case .upsample = ops.last {
                    ops.removeLast()
                    let phases = LayerStack.upsampledPhases(weight, cin: cin, cout: cout).map { phase in
                        var packed = [Float](repeating: 0, count: pk_conv_packed_floats(Int32(cin), Int32(cout), 2))
                        phase.withUnsafeBufferPointer { w in pk_conv_pack(w.baseAddress!, Int32(cin), Int32(cout), 2, &packed) }
                        return packed
                    }
                    ops.append(.upsampledConv(phases: phases, bias: bias, cin: cin, cout: cout))
                    maxCols = max(maxCols, cin * (s.h / 2 + 2) * (s.w / 2 + 2))
                } else if stride == 1 && k % 2 == 1 {
                    var packed = [Float](repeating: 0, count: pk_conv_packed_floats(Int32(cin), Int32(cout), Int32(k)))
                    weight.withUnsafeBufferPointer { w in pk_conv_pack(w.baseAddress!, Int32(cin), Int32(cout), Int32(k), &packed) }
                    ops.append(.directConv(packed: packed, bias: bias, cin: cin, cout: cout, kernel: k))
                    maxCols = max(maxCols, cin * (s.h + k - 1) * (s.w + k - 1))
                } else {  // stride 2, k even (checked above)
                    let half = k / 2
                    let rearranged = LayerStack.spaceToDepthWeights(weight, cin: cin, cout: cout, k: k)
                    var packed = [Float](repeating: 0, count: pk_conv_packed_floats(Int32(4 * cin), Int32(cout), Int32(half)))
                    rearranged.withUnsafeBufferPointer { w in pk_conv_pack(w.baseAddress!, Int32(4 * cin), Int32(cout), Int32(half), &packed) }
                    ops.append(.stridedConv(packed: packed, bias: bias, cin: cin, cout: cout, kernel: k))
                    maxCols = max(maxCols, 4 * cin * (out.h + half - 1) * (out.w + half - 1))
                }
                count += wt.elementCount + bt.elementCount
                s = out
            case "relu" where parts.count == 1: ops.append(.relu)
            case "silu" where parts.count == 1: ops.append(.silu)
            case "tanh" where parts.count == 1: ops.append(.tanh)
            case "softmax" where parts.count == 1: ops.append(.softmax)
            case "upsample" where parts.count == 1:
                s.h *= 2; s.w *= 2
                guard s.h <= limit, s.w <= limit else {
                    throw PonderError.badModel("\(what) layer \(i) upsamples past \(limit)×\(limit)")
                }
                ops.append(.upsample)
            case "push" where parts.count == 1:
                guard stack.count < 16 else { throw PonderError.badModel("\(what) saves too many activations") }
                stack.append(s); ops.append(.push)
            case "add" where parts.count == 1:
                guard let top = stack.popLast(), top == s else {
                    throw PonderError.badModel("\(what) layer \(i) ('add') has no saved activation of shape \(s.c)×\(s.h)×\(s.w)")
                }
                ops.append(.add)
            default:
                throw PonderError.badModel("\(what) layer \(i): unknown operation '\(name)'")
            }
            maxAct = max(maxAct, s.c * s.h * s.w)
        }
        guard s == output, stack.isEmpty else {
            throw PonderError.badModel("\(what) ends with \(s.c)×\(s.h)×\(s.w) (expected \(output.c)×\(output.h)×\(output.w) with no saved activation left): the image grid does not match the \(what)")
        }
        self.ops = ops
        self.input = input
        self.output = output
        parameterCount = count
        maxActivation = maxAct
        maxColumns = maxCols
    }

    /// Runs the layers: `fill` writes the input activation (input.c × h × w floats, channel
    /// planes), `read` gets the output activation. A smaller input (`rows` × `columns`, a
    /// window of the grid) runs the same layers on it: every layer is convolutional, so each
    /// activation shrinks with it and the scratch sized for the full input suffices.
    ///
    /// With `needed` (a region of the output), each layer computes only the part of its output
    /// that the layers after it read for that region (its reach walked back through the list),
    /// and `read` may use only that region: the values there are exactly those of the whole
    /// run, at a fraction of its cost for an edit's few cells.
    func run(pool: ThreadPool?, rows: Int? = nil, columns: Int? = nil, needed: Region? = nil,
             fill: (UnsafeMutablePointer<Float>) -> Void, read: (UnsafePointer<Float>) throws -> Void) throws {
        let inputRows = rows ?? input.h, inputColumns = columns ?? input.w
        guard inputRows >= 1, inputRows <= input.h, inputColumns >= 1, inputColumns <= input.w else {
            throw PonderError(.internal, "layer window \(inputRows)×\(inputColumns) outside \(input.h)×\(input.w)")
        }
        let regions = try outputRegions(rows: inputRows, columns: inputColumns, needed: needed)
        // Scratch: current, spare, a convolution's padded input, saved activations.
        let cur0 = malloc(maxActivation * 4), spare0 = malloc(maxActivation * 4)
        let scratchColumns = max(maxColumns, 1)
        let cols0 = malloc(scratchColumns * 4)
        guard let cur0, let spare0, let cols0 else {
            free(cur0); free(spare0); free(cols0)
            throw PonderError(.outOfMemory, "cannot allocate \((2 * maxActivation + scratchColumns) * 4) bytes for the image layers")
        }
        // An upsampled convolution's four phase outputs, interleaved into the next activation.
        let phases0 = ops.contains { if case .upsampledConv = $0 { return true } else { return false } } ? malloc(maxActivation * 4) : nil
        defer { free(phases0) }
        var cur = cur0.assumingMemoryBound(to: Float.self)
        var spare = spare0.assumingMemoryBound(to: Float.self)
        let cols = cols0.assumingMemoryBound(to: Float.self)
        var saved: [UnsafeMutablePointer<Float>] = []
        defer {
            free(cur0); free(spare0); free(cols0)
            for s in saved { s.deallocate() }
        }

        fill(cur)
        var c = input.c, h = inputRows, w = inputColumns
        for (op, g) in zip(ops, regions) {
            let n = c * h * w
            // The rows of every channel plane that hold the region g (elementwise layers).
            func planeRows(_ body: (UnsafeMutablePointer<Float>, Int) -> Void) {
                for ch in 0..<c { body(cur + ch * h * w + g.y0 * w, (g.y1 - g.y0) * w) }
            }
            switch op {
            case let .stridedConv(packed, bias, cin, cout, k):
                guard h % 2 == 0, w % 2 == 0 else { throw PonderError(.internal, "a stride-2 layer got a \(h)×\(w) window") }
                let oh = h / 2, ow = w / 2, half = k / 2
                LayerStack.spaceToDepth(cur, cin: cin, h: h, w: w, pad: (k - 2) / 2, rows: oh + half - 1, columns: ow + half - 1, into: cols)
                let blocks = (cout + 7) / 8
                packed.withUnsafeBufferPointer { wt in
                    bias.withUnsafeBufferPointer { b in
                        // Item i is output row i % oh of channel block i / oh.
                        func rows(_ r: Range<Int>) {
                            var i = r.lowerBound
                            while i < r.upperBound {
                                let block = i / oh, y0 = i % oh, y1 = min(oh, y0 + r.upperBound - i)
                                pk_conv2d(cols, Int32(4 * cin), Int32(oh), Int32(ow), Int32(half), wt.baseAddress!, b.baseAddress!,
                                          Int32(cout), spare, Int32(block), Int32(block + 1), Int32(y0), Int32(y1), 0, Int32(ow))
                                i += y1 - y0
                            }
                        }
                        if let pool {
                            pool.parallelFor(blocks * oh, work: cout * oh * ow * 4 * cin * half * half, rows)
                        } else {
                            rows(0..<(blocks * oh))
                        }
                    }
                }
                swap(&cur, &spare)
                c = cout; h = oh; w = ow
            case let .directConv(packed, bias, cin, cout, k):
                // The input with its zero border goes in the im2col scratch, which is sized
                // for it (init).
                pk_conv_pad(cur, Int32(cin), Int32(h), Int32(w), Int32(k / 2), cols)
                let blocks = (cout + 7) / 8, height = g.y1 - g.y0
                packed.withUnsafeBufferPointer { wt in
                    bias.withUnsafeBufferPointer { b in
                        // Item i is row g.y0 + i % height of channel block i / height.
                        func rows(_ r: Range<Int>) {
                            var i = r.lowerBound
                            while i < r.upperBound {
                                let block = i / height, y0 = i % height, y1 = min(height, y0 + r.upperBound - i)
                                pk_conv2d(cols, Int32(cin), Int32(h), Int32(w), Int32(k), wt.baseAddress!, b.baseAddress!, Int32(cout),
                                          spare, Int32(block), Int32(block + 1), Int32(g.y0 + y0), Int32(g.y0 + y1), Int32(g.x0), Int32(g.x1))
                                i += y1 - y0
                            }
                        }
                        if let pool {
                            pool.parallelFor(blocks * height, work: cout * height * (g.x1 - g.x0) * cin * k * k, rows)
                        } else {
                            rows(0..<(blocks * height))
                        }
                    }
                }
                swap(&cur, &spare)
                c = cout
            case let .upsampledConv(phases, bias, cin, cout):
                guard let phaseOut = phases0?.assumingMemoryBound(to: Float.self) else { throw PonderError(.internal, "no phase buffer") }
                pk_conv_pad(cur, Int32(cin), Int32(h), Int32(w), 1, cols)
                // The input pixels (rows i, columns j) whose four outputs hold the region g.
                let i0 = g.y0 / 2, i1 = (g.y1 + 1) / 2, j0 = g.x0 / 2, j1 = (g.x1 + 1) / 2
                let blocks = (cout + 7) / 8, height = i1 - i0, plane = cout * h * w
                bias.withUnsafeBufferPointer { b in
                    // Item i is row i0 + i % height of channel block (i / height) % blocks of phase
                    // i / (height · blocks).
                    func rows(_ r: Range<Int>) {
                        var i = r.lowerBound
                        while i < r.upperBound {
                            let phase = i / (height * blocks), block = (i / height) % blocks
                            let y0 = i % height, y1 = min(height, y0 + r.upperBound - i)
                            phases[phase].withUnsafeBufferPointer { wt in
                                pk_conv2d_upsampled(cols, Int32(cin), Int32(h), Int32(w), Int32(phase), wt.baseAddress!, b.baseAddress!,
                                                    Int32(cout), phaseOut + phase * plane, Int32(block), Int32(block + 1),
                                                    Int32(i0 + y0), Int32(i0 + y1), Int32(j0), Int32(j1))
                            }
                            i += y1 - y0
                        }
                    }
                    let items = 4 * blocks * height
                    if let pool {
                        pool.parallelFor(items, work: 4 * cout * height * (j1 - j0) * cin * 4, rows)
                    } else {
                        rows(0..<items)
                    }
                }
                let oh = 2 * h, ow = 2 * w
                for co in 0..<cout {
                    for y in g.y0..<g.y1 {
                        let to = spare + (co * oh + y) * ow
                        let even = phaseOut + (2 * (y % 2)) * plane + (co * h + y / 2) * w, odd = even + plane
                        for x in g.x0..<g.x1 { to[x] = (x % 2 == 0 ? even : odd)[x / 2] }
                    }
                }
                swap(&cur, &spare)
                c = cout; h = oh; w = ow
            case .relu: planeRows { x, count in for i in 0..<count where x[i] < 0 { x[i] = 0 } }
            case .silu: planeRows { x, count in pk_silu(x, Int32(count)) }
            case .tanh: planeRows { x, count in for i in 0..<count { x[i] = tanhf(x[i]) } }
            case .softmax:  // over the channels of each pixel
                pk_softmax_planes(cur + g.y0 * w, Int32(c), Int32(h * w), Int32((g.y1 - g.y0) * w))
            case .upsample:
                for ch in 0..<c {
                    for y in g.y0..<g.y1 {
                        let from = cur + (ch * h + y / 2) * w, to = spare + (ch * 2 * h + y) * 2 * w
                        for x in 0..<(2 * w) { to[x] = from[x / 2] }
                    }
                }
                swap(&cur, &spare)
                h *= 2; w *= 2
            case .push:
                let copy = UnsafeMutablePointer<Float>.allocate(capacity: n)
                copy.update(from: cur, count: n)
                saved.append(copy)
            case .add:
                let top = saved.removeLast()
                for ch in 0..<c {
                    for i in (ch * h * w + g.y0 * w)..<(ch * h * w + g.y1 * w) { cur[i] += top[i] }
                }
                top.deallocate()
            }
        }
        try read(cur)
    }

    /// The 2 × 2 weights of each output phase (2 · row parity + column parity) of a 3 × 3
    /// convolution ([cout][cin][3][3]) after a nearest-neighbour ×2 upsample. An output at an
    /// even row reads upsampled rows 2i − 1, 2i, 2i + 1, which are input rows i − 1, i, i: its
    /// taps are row i − 1 with kernel row 0 and row i with kernel rows 1 + 2; at an odd row,
    /// row i with kernel rows 0 + 1 and row i + 1 with kernel row 2. Columns the same. Summed
    /// in double precision, rounded once.
    static func upsampledPhases(_ weight: [Float], cin: Int, cout: Int) -> [[Float]] {
        let taps = [[[0], [1, 2]], [[0, 1], [2]]]  // [parity][tap] -> kernel rows (or columns)
        return (0..<4).map { phase in
            let a = phase / 2, b = phase % 2
            var out = [Float](repeating: 0, count: cout * cin * 4)
            for o in 0..<(cout * cin) {
                for ty in 0..<2 {
                    for tx in 0..<2 {
                        var sum = 0.0
                        for ky in taps[a][ty] { for kx in taps[b][tx] { sum += Double(weight[o * 9 + ky * 3 + kx]) } }
                        out[o * 4 + ty * 2 + tx] = Float(sum)
                    }
                }
            }
            return out
        }
    }

    /// A rectangle of an activation: rows y0..<y1, columns x0..<x1.
    struct Region: Equatable {
        var y0: Int, y1: Int, x0: Int, x1: Int

        func grown(by r: Int, rows: Int, columns: Int) -> Region {
            Region(y0: max(0, y0 - r), y1: min(rows, y1 + r), x0: max(0, x0 - r), x1: min(columns, x1 + r))
        }

        func union(_ o: Region) -> Region {
            Region(y0: min(y0, o.y0), y1: max(y1, o.y1), x0: min(x0, o.x0), x1: max(x1, o.x1))
        }
    }

    /// For each operation, the region of its output that the output region `needed` depends
    /// on: walked back from the end, a convolution widens it by its kernel's reach (clipped
    /// to the activation: outside it is zero padding, not data), an upsample halves it, and
    /// a saved activation is needed where the later `add` needs it. Every region is the whole
    /// activation without `needed`, or with a stride-2 convolution (the encoder's, which always
    /// reads a whole picture).
    private func outputRegions(rows: Int, columns: Int, needed: Region?) throws -> [Region] {
        var sizes: [(h: Int, w: Int)] = []
        var h = rows, w = columns, strided = false
        for op in ops {
            switch op {
            case .stridedConv: h /= 2; w /= 2; strided = true
            case .upsample, .upsampledConv: h *= 2; w *= 2
            default: break
            }
            sizes.append((h, w))
        }
        var regions = sizes.map { Region(y0: 0, y1: $0.h, x0: 0, x1: $0.w) }
        guard let needed, !strided else { return regions }
        guard needed.y0 >= 0, needed.x0 >= 0, needed.y0 < needed.y1, needed.x0 < needed.x1, needed.y1 <= h, needed.x1 <= w else {
            throw PonderError(.internal, "needed region \(needed) outside the \(h)×\(w) output")
        }
        var r = needed
        var savedNeeds: [Region] = []
        for i in ops.indices.reversed() {
            let (ih, iw) = i == 0 ? (rows, columns) : sizes[i - 1]
            switch ops[i] {
            case let .directConv(_, _, _, _, k): regions[i] = r; r = r.grown(by: k / 2, rows: ih, columns: iw)
            case let .stridedConv(_, _, _, _, k): regions[i] = r; r = r.grown(by: k / 2, rows: ih, columns: iw)
            case .upsample: regions[i] = r; r = Region(y0: r.y0 / 2, y1: (r.y1 + 1) / 2, x0: r.x0 / 2, x1: (r.x1 + 1) / 2)
            case .upsampledConv:
                regions[i] = r
                r = Region(y0: r.y0 / 2, y1: (r.y1 + 1) / 2, x0: r.x0 / 2, x1: (r.x1 + 1) / 2).grown(by: 1, rows: ih, columns: iw)
            case .add: regions[i] = r; savedNeeds.append(r)
            case .push: r = r.union(savedNeeds.removeLast()); regions[i] = r
            case .relu, .silu, .tanh, .softmax: regions[i] = r
            }
        }
        return regions
    }

    /// The space-to-depth rearrangement of x (cin × h × w) padded by `pad`: channel
    /// 4 · ci + 2 · p + q, row Y, column X holds padded pixel (2Y + p, 2X + q) of channel ci,
    /// for `rows` × `columns` positions (zero outside the image). A stride-2 convolution of x
    /// is a stride-1 convolution of this with no further padding.
    static func spaceToDepth(_ x: UnsafePointer<Float>, cin: Int, h: Int, w: Int, pad: Int, rows: Int, columns: Int,
                             into out: UnsafeMutablePointer<Float>) {
        for ci in 0..<cin {
            for p in 0..<2 {
                for q in 0..<2 {
                    let plane = out + (4 * ci + 2 * p + q) * rows * columns
                    for y in 0..<rows {
                        let sy = 2 * y + p - pad
                        let line = plane + y * columns
                        guard sy >= 0, sy < h else { line.update(repeating: 0, count: columns); continue }
                        let src = x + (ci * h + sy) * w
                        for xx in 0..<columns {
                            let sx = 2 * xx + q - pad
                            line[xx] = sx >= 0 && sx < w ? src[sx] : 0
                        }
                    }
                }
            }
        }
    }

    /// A stride-2 k × k convolution's weights ([cout][cin][k][k]) as the k/2 × k/2 weights
    /// over spaceToDepth's channels: [co][4 · ci + 2 · p + q][a][b] = [co][ci][2a + p][2b + q].
    static func spaceToDepthWeights(_ weight: [Float], cin: Int, cout: Int, k: Int) -> [Float] {
        let half = k / 2
        var out = [Float](repeating: 0, count: cout * 4 * cin * half * half)
        for co in 0..<cout {
            for ci in 0..<cin {
                for p in 0..<2 {
                    for q in 0..<2 {
                        for a in 0..<half {
                            for b in 0..<half {
                                out[((co * 4 * cin + 4 * ci + 2 * p + q) * half + a) * half + b] =
                                    weight[((co * cin + ci) * k + 2 * a + p) * k + 2 * b + q]
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
