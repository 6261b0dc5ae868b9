import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// The VQ decoder: image codes → codebook vectors on the token grid → a stack of layers
/// named in the file's `ponder.decoder.ops` → RGB. Convolutions run as im2col + sgemm.
/// The final activation is mapped from [-1, 1] to 0…255. Layer list: docs/format.md.
final class VQDecoder: @unchecked Sendable {
    enum Op {
        case conv(weight: [Float], bias: [Float], cin: Int, cout: Int, kernel: Int)
        case relu, silu, tanh, softmax, upsample, push, add
    }

    let codebook: [Float]
    let embedDim: Int
    let ops: [Op]
    let gridWidth: Int, gridHeight: Int
    let width: Int, height: Int
    let parameterCount: Int
    /// Largest activation and im2col sizes, in floats, found when checking the layers.
    private let maxActivation: Int
    private let maxColumns: Int

    init(file: GGUFFile, hp: HyperParameters) throws {
        guard let cb = file.tensor("vq.codebook") else { throw PonderError.badModel("tensor 'vq.codebook' is missing") }
        guard cb.dims.count == 2, cb.dims[1] == hp.codebookSize, cb.type == .f32 || cb.type == .f16 else {
            throw PonderError.badModel("tensor 'vq.codebook' must be F32/F16 of shape [dim, \(hp.codebookSize)], found \(cb.type) \(cb.dims)")
        }
        embedDim = cb.dims[0]
        guard embedDim <= 4096 else { throw PonderError.badModel("codebook vectors of \(embedDim) values are too long") }
        codebook = Matrix(rows: hp.codebookSize, cols: embedDim, type: cb.type, data: file.data(of: cb)).floats()
        gridWidth = hp.gridWidth
        gridHeight = hp.gridHeight
        width = hp.imageWidth
        height = hp.imageHeight
        var count = cb.elementCount

        let names = try file.strings(ModelKeys.key("decoder.ops"))
        guard !names.isEmpty, names.count <= 256 else { throw PonderError.badModel("decoder has \(names.count) layers (1 to 256 allowed)") }
        var ops: [Op] = []
        // Walk the shapes through the layers to check that they fit together.
        var c = embedDim, h = gridHeight, w = gridWidth
        var stack: [(Int, Int, Int)] = []
        var maxAct = c * h * w, maxCols = 0
        for (i, name) in names.enumerated() {
            let parts = name.split(separator: " ").map(String.init)
            switch parts.first ?? "" {
            case "conv" where parts.count == 2:
                let wn = "dec.\(parts[1]).weight", bn = "dec.\(parts[1]).bias"
                guard let wt = file.tensor(wn), let bt = file.tensor(bn) else {
                    throw PonderError.badModel("decoder layer \(i) ('\(name)'): tensors '\(wn)' and '\(bn)' are required")
                }
                guard wt.dims.count == 4, wt.dims[0] == wt.dims[1], wt.dims[0] % 2 == 1, wt.dims[0] <= 7,
                      wt.type == .f32 || wt.type == .f16 else {
                    throw PonderError.badModel("'\(wn)' must be an F32/F16 square odd kernel [k, k, in, out], found \(wt.type) \(wt.dims)")
                }
                let k = wt.dims[0], cin = wt.dims[2], cout = wt.dims[3]
                guard cin == c else {
                    throw PonderError.badModel("decoder layer \(i) ('\(name)') takes \(cin) channels but receives \(c)")
                }
                guard bt.dims == [cout], bt.type == .f32 || bt.type == .f16 else {
                    throw PonderError.badModel("'\(bn)' must be F32/F16 of shape [\(cout)]")
                }
                let weight = Matrix(rows: cout, cols: cin * k * k, type: wt.type, data: file.data(of: wt)).floats()
                let bias = Matrix(rows: 1, cols: cout, type: bt.type, data: file.data(of: bt)).floats()
                ops.append(.conv(weight: weight, bias: bias, cin: cin, cout: cout, kernel: k))
                count += wt.elementCount + bt.elementCount
                maxCols = max(maxCols, cin * k * k * w * VQDecoder.bandRows(cin: cin, k: k, h: h, w: w))
                c = cout
            case "relu" where parts.count == 1: ops.append(.relu)
            case "silu" where parts.count == 1: ops.append(.silu)
            case "tanh" where parts.count == 1: ops.append(.tanh)
            case "softmax" where parts.count == 1: ops.append(.softmax)
            case "upsample" where parts.count == 1:
                h *= 2; w *= 2
                guard h <= height, w <= width else {
                    throw PonderError.badModel("decoder layer \(i) upsamples past the \(width)×\(height) image")
                }
                ops.append(.upsample)
            case "push" where parts.count == 1:
                guard stack.count < 16 else { throw PonderError.badModel("decoder saves too many activations") }
                stack.append((c, h, w)); ops.append(.push)
            case "add" where parts.count == 1:
                guard let top = stack.popLast(), top == (c, h, w) else {
                    throw PonderError.badModel("decoder layer \(i) ('add') has no saved activation of shape \(c)×\(h)×\(w)")
                }
                ops.append(.add)
            default:
                throw PonderError.badModel("decoder layer \(i): unknown operation '\(name)'")
            }
            maxAct = max(maxAct, c * h * w)
        }
        guard c == 3, h == height, w == width, stack.isEmpty else {
            throw PonderError.badModel("decoder ends with \(c)×\(h)×\(w) (expected 3×\(height)×\(width) with no saved activation left): the image grid does not match the decoder")
        }
        self.ops = ops
        parameterCount = count
        maxActivation = maxAct
        maxColumns = maxCols
    }

    /// Decodes a full grid of codes (gridHeight × gridWidth, raster order) into RGB8. The
    /// convolutions' output channels are split across `pool`'s threads, each running a
    /// single-threaded sgemm on its share (OpenBLAS's own threads stay off: see Model).
    func decode(codes: [Int32], into rgb: UnsafeMutablePointer<UInt8>, pool: ThreadPool? = nil) throws {
        guard codes.count == gridWidth * gridHeight else { throw PonderError(.internal, "decoder got \(codes.count) codes") }
        let codebookSize = codebook.count / embedDim
        for code in codes where code < 0 || Int(code) >= codebookSize {
            throw PonderError.invalidArgument("image code \(code) is outside the codebook of \(codebookSize)")
        }
        // Scratch: current, spare, im2col, saved activations.
        let cur0 = malloc(maxActivation * 4), spare0 = malloc(maxActivation * 4)
        let cols0 = malloc(max(maxColumns, 1) * 4)
        guard let cur0, let spare0, let cols0 else {
            free(cur0); free(spare0); free(cols0)
            throw PonderError(.outOfMemory, "cannot allocate \((2 * maxActivation + maxColumns) * 4) bytes to decode")
        }
        var cur = cur0.assumingMemoryBound(to: Float.self)
        var spare = spare0.assumingMemoryBound(to: Float.self)
        let cols = cols0.assumingMemoryBound(to: Float.self)
        var saved: [UnsafeMutablePointer<Float>] = []
        defer {
            free(cur0); free(spare0); free(cols0)
            for s in saved { s.deallocate() }
        }

        var c = embedDim, h = gridHeight, w = gridWidth
        codebook.withUnsafeBufferPointer { cb in
            for (p, code) in codes.enumerated() {
                let code = Int(code)
                for ch in 0..<c { cur[ch * h * w + p] = cb[code * c + ch] }
            }
        }
        for op in ops {
            let n = c * h * w
            switch op {
            case let .conv(weight, bias, cin, cout, k):
                // In bands of output rows, so the im2col matrix stays a few megabytes.
                let band = VQDecoder.bandRows(cin: cin, k: k, h: h, w: w)
                var y0 = 0
                while y0 < h {
                    let rows = min(band, h - y0)
                    im2col(cur, cin: cin, h: h, w: w, k: k, rows: y0..<(y0 + rows), out: cols)
                    let kk = cin * k * k, out = spare + y0 * w
                    weight.withUnsafeBufferPointer { wt in
                        let wp = wt.baseAddress!
                        func channels(_ r: Range<Int>) {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                        Int32(r.count), Int32(rows * w), Int32(kk),
                                        1, wp + r.lowerBound * kk, Int32(kk), cols, Int32(rows * w),
                                        0, out + r.lowerBound * h * w, Int32(h * w))
                        }
                        if let pool, cout >= 8 { pool.parallelFor(cout, channels) } else { channels(0..<cout) }
                    }
                    y0 += rows
                }
                for o in 0..<cout {
                    let b = bias[o]
                    let row = spare + o * h * w
                    for i in 0..<(h * w) { row[i] += b }
                }
                swap(&cur, &spare)
                c = cout
            case .relu: for i in 0..<n where cur[i] < 0 { cur[i] = 0 }
            case .silu: for i in 0..<n { cur[i] = Kernels.silu(cur[i]) }
            case .tanh: for i in 0..<n { cur[i] = tanhf(cur[i]) }
            case .softmax:
                // Over the channels of each pixel.
                let plane = h * w
                for i in 0..<plane {
                    var m = -Float.infinity
                    for ch in 0..<c where cur[ch * plane + i] > m { m = cur[ch * plane + i] }
                    var sum: Float = 0
                    for ch in 0..<c {
                        let e = expf(cur[ch * plane + i] - m)
                        cur[ch * plane + i] = e
                        sum += e
                    }
                    for ch in 0..<c { cur[ch * plane + i] /= sum }
                }
            case .upsample:
                for ch in 0..<c {
                    for y in 0..<(2 * h) {
                        for x in 0..<(2 * w) { spare[(ch * 2 * h + y) * 2 * w + x] = cur[(ch * h + y / 2) * w + x / 2] }
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
                for i in 0..<n { cur[i] += top[i] }
                top.deallocate()
            }
        }
        let plane = h * w
        for i in 0..<plane {
            for ch in 0..<3 {
                let v = (cur[ch * plane + i] + 1) * 127.5
                rgb[i * 3 + ch] = v.isNaN ? 0 : UInt8(max(0, min(255, v.rounded())))
            }
        }
    }

    /// Output rows per im2col band: as many as fit in about 4 MB of columns, at least one.
    static func bandRows(cin: Int, k: Int, h: Int, w: Int) -> Int {
        max(1, min(h, (1 << 20) / max(1, cin * k * k * w)))
    }

    /// The im2col matrix of output rows `rows`: one row per (channel, ky, kx), one column per
    /// output pixel of the band.
    private func im2col(_ x: UnsafePointer<Float>, cin: Int, h: Int, w: Int, k: Int, rows: Range<Int>,
                        out: UnsafeMutablePointer<Float>) {
        let pad = k / 2, n = rows.count * w
        var row = 0
        for ch in 0..<cin {
            for ky in 0..<k {
                for kx in 0..<k {
                    let dst = out + row * n
                    // Output pixel (y, xx) reads input (y + ky - pad, xx + kx - pad): per row a
                    // shifted copy of one input row, zero where the shift leaves the image.
                    let shift = kx - pad
                    let lo = max(0, -shift), hi = min(w, w - shift)
                    for y in rows {
                        let sy = y + ky - pad
                        let line = dst + (y - rows.lowerBound) * w
                        guard sy >= 0, sy < h, lo < hi else {
                            line.update(repeating: 0, count: w)
                            continue
                        }
                        if lo > 0 { line.update(repeating: 0, count: lo) }
                        (line + lo).update(from: x + (ch * h + sy) * w + lo + shift, count: hi - lo)
                        if hi < w { (line + hi).update(repeating: 0, count: w - hi) }
                    }
                    row += 1
                }
            }
        }
    }
}
