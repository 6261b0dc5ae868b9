// Decoding: image tokens → RGB pixels through the VQ decoder, laid on the background.

extension Session {
    public var imageWidth: Int { model.hyperParameters.imageWidth }
    public var imageHeight: Int { model.hyperParameters.imageHeight }
    public var imageByteCount: Int { imageWidth * imageHeight * 3 }

    /// The neutral grey shown where tokens are not yet generated.
    public static let pendingFill: UInt8 = 128

    /// Decodes the tokens so far into RGB8 (row-major) on the image's background; not yet
    /// generated cells are grey. After an edit, the edited picture (Session+Editing).
    ///
    /// The decoder's convolutions reach across cells (the shipped model's, 5.5), so the codes
    /// put in the cells not yet drawn colour the finished rows just above them: a code the
    /// model would not draw there (a fixed code 0 did) tints the last finished rows with
    /// colours the image never gets, and even the drawing carried straight on moves the
    /// outlines of shapes cut by the frontier. So each such cell is decoded with the code of
    /// the plan as the training data would show it (rendered, then encoded), which ends each
    /// shape where the model will; without a plan or an encoder, as a copy of the cell above
    /// it (in the first row, of the last cell drawn). docs/format.md, "Previews", has the
    /// measurement. Nothing here touches the sampler, so previews never change the image.
    public func decode(into rgb: UnsafeMutableRawBufferPointer) throws {
        guard !codes.isEmpty else { throw PonderError.wrongState("no image tokens yet: call step before decode") }
        guard rgb.count >= imageByteCount, let base = rgb.baseAddress else {
            throw PonderError(.bufferTooSmall, "RGB buffer holds \(rgb.count) bytes; the image needs \(imageByteCount)")
        }
        if let canvas {
            base.copyMemory(from: canvas.image.pixels, byteCount: imageByteCount)
            return
        }
        let hp = model.hyperParameters
        var grid = codes
        if codes.count < hp.imageTokens {
            let planned = try plannedCodes()
            grid.reserveCapacity(hp.imageTokens)
            for cell in codes.count..<hp.imageTokens {
                grid.append(planned?[cell] ?? (cell >= hp.gridWidth ? grid[cell - hp.gridWidth] : codes[codes.count - 1]))
            }
        }
        let out = base.assumingMemoryBound(to: UInt8.self)
        try model.decoder.decode(codes: grid, into: out, pool: pool)
        Background.move(out, pixels: hp.imageWidth * hp.imageHeight, from: 0, to: background)
        let cellW = hp.imageWidth / hp.gridWidth, cellH = hp.imageHeight / hp.gridHeight
        for cell in codes.count..<hp.imageTokens {
            let gx = cell % hp.gridWidth, gy = cell / hp.gridWidth
            for y in (gy * cellH)..<((gy + 1) * cellH) {
                let row = out + (y * hp.imageWidth + gx * cellW) * 3
                row.update(repeating: Session.pendingFill, count: cellW * 3)
            }
        }
    }

    /// The encoder's codes for the plan rendered on white (docs/world.md), which previews
    /// decode in the cells not yet drawn; nil without a plan or an encoder. Made once per
    /// plan: a session's plan changes only between drawings.
    func plannedCodes() throws -> [Int32]? {
        guard let plan, let encoder = model.encoder else { return nil }
        if let preview = previewCodes, preview.plan == plan { return preview.codes }
        let hp = model.hyperParameters
        let rgb = Renderer.render(plan, width: hp.imageWidth, height: hp.imageHeight, onWhite: true)
        let planned = try rgb.withUnsafeBufferPointer { try encoder.encode(rgb: $0.baseAddress!, pool: pool) }
        previewCodes = (plan, planned)
        return planned
    }

    public func decode() throws -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: imageByteCount)
        try rgb.withUnsafeMutableBytes { try decode(into: $0) }
        return rgb
    }
}
