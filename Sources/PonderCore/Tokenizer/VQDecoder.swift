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
        guard codes.count == gridWidth * gridHeight else { throw PonderError(.internal, "decoder got \(codes.count) codes") }
        let codebookSize = self.codebookSize
        for code in codes where code < 0 || Int(code) >= codebookSize {
            throw PonderError.invalidArgument("image code \(code) is outside the codebook of \(codebookSize)")
        }
        let c = embedDim, plane = gridWidth * gridHeight
        try layers.run(pool: pool, fill: { cur in
            codebook.withUnsafeBufferPointer { cb in
                for (p, code) in codes.enumerated() {
                    let code = Int(code)
                    for ch in 0..<c { cur[ch * plane + p] = cb[code * c + ch] }
                }
            }
        }, read: { cur in
            let plane = width * height
            for i in 0..<plane {
                for ch in 0..<3 {
                    let v = (cur[ch * plane + i] + 1) * 127.5
                    rgb[i * 3 + ch] = v.isNaN ? 0 : UInt8(max(0, min(255, v.rounded())))
                }
            }
        })
    }
}
