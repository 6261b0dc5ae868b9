/// The VQ encoder: an RGB8 image on white → [-1, 1] → the layers named in the file's
/// `ponder.encoder.ops` → one vector per grid cell → the nearest codebook vector's index
/// (docs/format.md, "Encoder"). The model's image tokens describe scenes on white, so callers
/// move a picture onto white first (Background.move). Optional in a model file: without it
/// the model draws but cannot read images.
final class VQEncoder: @unchecked Sendable {
    let layers: LayerStack
    let gridWidth: Int, gridHeight: Int
    let width: Int, height: Int
    private let codebook: [Float]
    private let embedDim: Int

    /// nil when the file has no encoder (no `ponder.encoder.ops`).
    init?(file: GGUFFile, hp: HyperParameters, decoder: VQDecoder) throws {
        guard file.metadata[ModelKeys.key("encoder.ops")] != nil else { return nil }
        codebook = decoder.codebook
        embedDim = decoder.embedDim
        gridWidth = hp.gridWidth
        gridHeight = hp.gridHeight
        width = hp.imageWidth
        height = hp.imageHeight
        layers = try LayerStack(file: file, listKey: ModelKeys.key("encoder.ops"), prefix: "enc", what: "encoder",
                                input: .init(c: 3, h: height, w: width),
                                output: .init(c: embedDim, h: gridHeight, w: gridWidth), limit: max(width, height))
    }

    var parameterCount: Int { layers.parameterCount }

    /// Encodes an RGB8 image (width × height × 3 bytes, row-major) into grid codes, raster
    /// order. The caller checks the size.
    func encode(rgb: UnsafePointer<UInt8>, pool: ThreadPool? = nil) throws -> [Int32] {
        let plane = width * height, cells = gridWidth * gridHeight, d = embedDim
        var codes = [Int32](repeating: 0, count: cells)
        try layers.run(pool: pool, fill: { cur in
            for i in 0..<plane {
                for ch in 0..<3 { cur[ch * plane + i] = Float(rgb[i * 3 + ch]) / 127.5 - 1 }
            }
        }, read: { z in
            codebook.withUnsafeBufferPointer { cb in
                let k = cb.count / d
                for cell in 0..<cells {
                    var best = 0, bestDistance = Float.infinity
                    for code in 0..<k {
                        var distance: Float = 0
                        for ch in 0..<d {
                            let diff = z[ch * cells + cell] - cb[code * d + ch]
                            distance += diff * diff
                        }
                        if distance < bestDistance { bestDistance = distance; best = code }
                    }
                    codes[cell] = Int32(best)
                }
            }
        })
        return codes
    }
}
