/// A picture being edited (docs/canvas.md): its pixels, the plan that says what is where, and
/// the image codes the model reads and draws. A value: every edit (Session+Editing) takes a
/// canvas and returns a new one, so the input is never changed and undo is keeping the old one.
public struct Canvas: Equatable {
    /// The picture, the model's size, on `plan.background`. An edit keeps every pixel outside
    /// the cells it redraws byte for byte (unless the background changes).
    public let image: RGBImage
    /// What is where; may have no objects (a picture cleared of everything).
    public let plan: Plan
    /// The picture moved onto white, as image codes (raster order, gridWidth × gridHeight):
    /// the encoder's for a picture read in, the drawn ones after an edit.
    public let codes: [Int32]

    init(image: RGBImage, plan: Plan, codes: [Int32]) {
        self.image = image
        self.plan = plan
        self.codes = codes
    }

    /// Parses a canvas plan: docs/plan.md's text form, where a plan of a picture may also be
    /// the background line alone (no objects).
    public static func plan(text: String) throws -> Plan {
        let words = World.words(of: text)
        if words.count == 2, words[0] == "background", let bg = World.backgrounds.firstIndex(of: words[1]) {
            return Plan(background: bg, objects: [])
        }
        return try Plan(text: text)
    }

    /// Pixels an edit blends across at the edge of what it redraws: inside the redrawn cells,
    /// a pixel d ≤ blendBand pixels from a kept one (Chebyshev distance) is the input's and the
    /// drawing's mixed at weight d / (blendBand + 1), hiding a seam where the decoder's colours
    /// differ slightly from the picture's own.
    public static let blendBand = 2
}

/// A box of pixels: x0 ≤ x < x1, y0 ≤ y < y1 (the convention of PIL's crop and GIMP's
/// selection bounds).
public struct PixelBox: Equatable, Sendable, CustomStringConvertible {
    public var x0: Int, y0: Int, x1: Int, y1: Int

    public init(x0: Int, y0: Int, x1: Int, y1: Int) {
        self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1
    }

    /// An object's bounding square (side s centred on its centre).
    init(_ o: Plan.Object) {
        let half = o.side / 2
        self.init(x0: o.x - half, y0: o.y - half, x1: o.x + half, y1: o.y + half)
    }

    public var description: String { "(\(x0), \(y0))–(\(x1), \(y1))" }

    func contains(x: Int, y: Int) -> Bool { x >= x0 && x < x1 && y >= y0 && y < y1 }

    /// Checks the box against an image's size; the error names the box and the size.
    public func validated(width: Int = World.canvas, height: Int = World.canvas) throws -> PixelBox {
        guard x0 >= 0, y0 >= 0, x1 <= width, y1 <= height, x0 < x1, y0 < y1 else {
            throw PonderError.invalidArgument(
                "region \(self) is not a box inside the \(width)×\(height) image (need 0 ≤ x0 < x1 ≤ \(width) and 0 ≤ y0 < y1 ≤ \(height))")
        }
        return self
    }
}

/// Which image-token cells an edit redraws: a mask over the grid, in raster order.
struct CellMask {
    let hp: HyperParameters
    private(set) var cells: [Bool]

    init(_ hp: HyperParameters) {
        self.hp = hp
        cells = [Bool](repeating: false, count: hp.imageTokens)
    }

    var isEmpty: Bool { !cells.contains(true) }
    var indices: [Int] { cells.indices.filter { cells[$0] } }
    subscript(i: Int) -> Bool { cells[i] }

    /// Marks every cell the box (in World coordinates) touches, and `margin` cells around.
    mutating func mark(_ box: PixelBox, margin: Int) {
        let cellW = hp.imageWidth / hp.gridWidth, cellH = hp.imageHeight / hp.gridHeight
        // World coordinates are pixels of a World.canvas-sided picture; a model's image may differ.
        func px(_ c: Int, _ side: Int) -> Int { c * side / World.canvas }
        let gx0 = max(0, px(box.x0, hp.imageWidth) / cellW - margin)
        let gx1 = min(hp.gridWidth - 1, (px(box.x1, hp.imageWidth) - 1) / cellW + margin)
        let gy0 = max(0, px(box.y0, hp.imageHeight) / cellH - margin)
        let gy1 = min(hp.gridHeight - 1, (px(box.y1, hp.imageHeight) - 1) / cellH + margin)
        guard gx0 <= gx1, gy0 <= gy1 else { return }
        for gy in gy0...gy1 {
            for gx in gx0...gx1 { cells[gy * hp.gridWidth + gx] = true }
        }
    }

    mutating func formUnion(_ other: CellMask) {
        for i in cells.indices where other.cells[i] { cells[i] = true }
    }

    mutating func subtract(_ other: CellMask) {
        for i in cells.indices where other.cells[i] { cells[i] = false }
    }

    func intersection(_ other: CellMask) -> CellMask {
        var m = self
        for i in cells.indices where !other.cells[i] { m.cells[i] = false }
        return m
    }

    /// Whether pixel (x, y) of the model's image lies in a marked cell.
    func covers(x: Int, y: Int) -> Bool {
        let cellW = hp.imageWidth / hp.gridWidth, cellH = hp.imageHeight / hp.gridHeight
        return cells[(y / cellH) * hp.gridWidth + x / cellW]
    }

    /// Mixes `drawn` into `picture` (both RGB8, the model's size) over the marked cells,
    /// except the pixels inside `kept` boxes (objects kept as they were, which may share a
    /// cell with a changed one): a marked pixel more than Canvas.blendBand pixels from every
    /// pixel kept is drawn's, one nearer is blended, and every pixel kept (unmarked, or in a
    /// kept box) stays the picture's, byte for byte.
    func composite(_ drawn: [UInt8], over picture: [UInt8], kept: [PixelBox] = []) -> [UInt8] {
        let w = hp.imageWidth, h = hp.imageHeight, band = Canvas.blendBand
        // World coordinates to the model's pixels, as mark() does.
        let keptBoxes = kept.map { b in
            PixelBox(x0: b.x0 * w / World.canvas, y0: b.y0 * h / World.canvas, x1: b.x1 * w / World.canvas, y1: b.y1 * h / World.canvas)
        }
        // Whether each pixel is the drawing's, worked out once rather than per neighbour.
        var drawnPixels = [Bool](repeating: false, count: w * h)
        for y in 0..<h {
            for x in 0..<w { drawnPixels[y * w + x] = covers(x: x, y: y) && !keptBoxes.contains { $0.contains(x: x, y: y) } }
        }
        func drawnHere(_ x: Int, _ y: Int) -> Bool { drawnPixels[y * w + x] }
        var out = picture
        for y in 0..<h {
            for x in 0..<w where drawnHere(x, y) {
                // Distance to the nearest pixel kept, up to band + 1.
                var d = band + 1
                for dy in -band...band {
                    for dx in -band...band {
                        let nx = x + dx, ny = y + dy
                        guard nx >= 0, nx < w, ny >= 0, ny < h, !drawnHere(nx, ny) else { continue }
                        d = min(d, max(abs(dx), abs(dy)))
                    }
                }
                let weight = Float(d) / Float(band + 1)
                for ch in 0..<3 {
                    let i = (y * w + x) * 3 + ch
                    let mixed = Float(picture[i]) * (1 - weight) + Float(drawn[i]) * weight
                    out[i] = UInt8(min(255, max(0, mixed.rounded())))
                }
            }
        }
        return out
    }
}
