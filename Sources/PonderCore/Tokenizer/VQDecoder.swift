/// The VQ decoder: image codes → codebook vectors on the token grid → the layers named in
/// the file's `ponder.decoder.ops` → RGB. The final activation is mapped from [-1, 1] to
/// 0…255. Layer list: docs/format.md, "Decoder".
final class VQDecoder: @unchecked Sendable {
    let codebook: [Float]
    let embedDim: Int
    let layers: LayerStack
    let gridWidth: Int, gridHeight: Int
    let width: Int, height: Int
    let parameterCount: Int
    var codebookSize: Int { codebook.count / embedDim }

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
        layers = try LayerStack(file: file, listKey: ModelKeys.key("decoder.ops"), prefix: "dec", what: "decoder",
                                input: .init(c: embedDim, h: gridHeight, w: gridWidth),
                                output: .init(c: 3, h: height, w: width), limit: max(width, height))
        parameterCount = cb.elementCount + layers.parameterCount
    }

    /// Decodes a full grid of codes (gridHeight × gridWidth, raster order) into RGB8.
    func decode(codes: [Int32], into rgb: UnsafeMutablePointer<UInt8>, pool: ThreadPool? = nil) throws {
        try decode(codes: codes, window: GridWindow(x0: 0, y0: 0, x1: gridWidth, y1: gridHeight), into: rgb, pool: pool)
    }

    /// Decodes only the cells of `window` (their codes read from the full grid `codes`),
    /// writing the pixels of the cells `used` (the whole window unless given; a box of cells
    /// inside it) into `rgb`, a full image; other pixels are left as they are. Cells outside
    /// the window count as zero padding, so pixels near a window edge inside the grid differ
    /// a little from a full decode: callers keep a halo of cells around what they use
    /// (Session+Editing). Only what the used cells depend on is computed (LayerStack.run's
    /// `needed`), and their pixels are those of decoding the whole window.
    func decode(codes: [Int32], window: GridWindow, used: GridWindow? = nil, into rgb: UnsafeMutablePointer<UInt8>,
                pool: ThreadPool? = nil) throws {
        guard codes.count == gridWidth * gridHeight else { throw PonderError(.internal, "decoder got \(codes.count) codes") }
        guard window.x0 >= 0, window.y0 >= 0, window.x1 <= gridWidth, window.y1 <= gridHeight,
              window.x0 < window.x1, window.y0 < window.y1 else {
            throw PonderError(.internal, "decoder window \(window) outside the \(gridWidth)×\(gridHeight) grid")
        }
        let codebookSize = self.codebookSize
        for code in codes where code < 0 || Int(code) >= codebookSize {
            throw PonderError.invalidArgument("image code \(code) is outside the codebook of \(codebookSize)")
        }
        let used = used ?? window
        guard used.x0 >= window.x0, used.y0 >= window.y0, used.x1 <= window.x1, used.y1 <= window.y1,
              used.x0 < used.x1, used.y0 < used.y1 else {
            throw PonderError(.internal, "decoder cells \(used) outside the window \(window)")
        }
        let c = embedDim, gw = window.x1 - window.x0, gh = window.y1 - window.y0, plane = gw * gh
        let cellW = width / gridWidth, cellH = height / gridHeight
        // The used cells in pixels of the window's output.
        let needed = LayerStack.Region(y0: (used.y0 - window.y0) * cellH, y1: (used.y1 - window.y0) * cellH,
                                       x0: (used.x0 - window.x0) * cellW, x1: (used.x1 - window.x0) * cellW)
        try layers.run(pool: pool, rows: gh, columns: gw, needed: used == window ? nil : needed, fill: { cur in
            codebook.withUnsafeBufferPointer { cb in
                for gy in 0..<gh {
                    for gx in 0..<gw {
                        let code = Int(codes[(window.y0 + gy) * gridWidth + window.x0 + gx]), p = gy * gw + gx
                        for ch in 0..<c { cur[ch * plane + p] = cb[code * c + ch] }
                    }
                }
            }
        }, read: { cur in
            let ow = gw * cellW, oh = gh * cellH, plane = ow * oh
            for y in needed.y0..<needed.y1 {
                for x in needed.x0..<needed.x1 {
                    let i = y * ow + x, o = ((window.y0 * cellH + y) * width + window.x0 * cellW + x) * 3
                    for ch in 0..<3 {
                        let v = (cur[ch * plane + i] + 1) * 127.5
                        rgb[o + ch] = v.isNaN ? 0 : UInt8(max(0, min(255, v.rounded())))
                    }
                }
            }
        })
    }
}

/// A box of grid cells: x0 ≤ gx < x1, y0 ≤ gy < y1.
struct GridWindow: Equatable, CustomStringConvertible {
    var x0: Int, y0: Int, x1: Int, y1: Int
    var description: String { "(\(x0), \(y0))–(\(x1), \(y1))" }

    func overlaps(_ o: GridWindow) -> Bool { x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1 }

    func union(_ o: GridWindow) -> GridWindow {
        GridWindow(x0: min(x0, o.x0), y0: min(y0, o.y0), x1: max(x1, o.x1), y1: max(y1, o.y1))
    }
}
