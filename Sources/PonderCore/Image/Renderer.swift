#if canImport(Glibc)
import Glibc
#endif

/// The Shapes world's renderer (docs/world.md, "Objects"): a plan drawn as the training data
/// was, each pixel the background blended with each object's colour by the share of a 4 × 4
/// grid of sub-samples inside its shape. Training's `ponder_train.image.render` is the same arithmetic in
/// the same order, and a test holds the two to each other byte for byte. The engine renders
/// a plan to give previews the codes of what is still to come (Session+Decoding).
public enum Renderer {
    /// The plan as RGB8 (row-major, width × height × 3 bytes) on its background, or on white
    /// with `onWhite`. Plans are in World coordinates (a World.canvas-sided picture); another
    /// size scales them. width, height: 1 ... 4096 (others give an empty array).
    public static func render(_ plan: Plan, width: Int = World.canvas, height: Int = World.canvas,
                              onWhite: Bool = false) -> [UInt8] {
        guard (1...4096).contains(width), (1...4096).contains(height) else { return [] }
        let b = World.backgroundRGB[World.backgroundRGB.indices.contains(plan.background) && !onWhite ? plan.background : 0]
        var img = [Double](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            img[3 * i] = Double(b.0); img[3 * i + 1] = Double(b.1); img[3 * i + 2] = Double(b.2)
        }
        // Pixel x of this picture spans World x · canvas / width ... (x + 1) · canvas / width;
        // both factors are 1 at the world's own size, so nothing is rounded there.
        let sx = Double(World.canvas) / Double(width), sy = Double(World.canvas) / Double(height)
        for o in plan.objects where World.shapes.indices.contains(o.shape) && World.colourRGB.indices.contains(o.colour)
            && World.sizePixels.indices.contains(o.size) {
            let s = Double(o.side), cx = Double(o.x), cy = Double(o.y)
            let c = World.colourRGB[o.colour]
            let colour = (Double(c.0), Double(c.1), Double(c.2))
            // The object's square and a pixel around it (training's world.object_window).
            let x0 = max(0, Int(((cx - s / 2) / sx).rounded(.down)) - 1)
            let y0 = max(0, Int(((cy - s / 2) / sy).rounded(.down)) - 1)
            let x1 = min(width, Int(((cx + s / 2) / sx).rounded(.up)) + 1)
            let y1 = min(height, Int(((cy + s / 2) / sy).rounded(.up)) + 1)
            guard x0 < x1, y0 < y1 else { continue }
            for y in y0..<y1 {
                for x in x0..<x1 {
                    var hits = 0
                    for j in 0..<4 {
                        let v = ((Double(y) + sub[j]) * sy - cy) / s
                        for i in 0..<4 where inside(o.shape, u: ((Double(x) + sub[i]) * sx - cx) / s, v: v) { hits += 1 }
                    }
                    guard hits > 0 else { continue }
                    let a = Double(hits) / 16, p = 3 * (y * width + x)
                    img[p] = img[p] * (1 - a) + colour.0 * a
                    img[p + 1] = img[p + 1] * (1 - a) + colour.1 * a
                    img[p + 2] = img[p + 2] * (1 - a) + colour.2 * a
                }
            }
        }
        return img.map { UInt8(($0 + 0.5).rounded(.down)) }
    }

    /// Sub-sample offsets inside a pixel, on a 4 × 4 grid.
    static let sub: [Double] = (0..<4).map { (Double($0) + 0.5) / 4 }

    /// The star's 10-gon: radius 0.5 and 0.2 alternating, the first pointing up, 36° apart.
    static let star: [(Double, Double)] = (0..<10).map { k in
        let angle = (-90 + 36 * Double(k)) * (Double.pi / 180), r = k % 2 == 0 ? 0.5 : 0.2
        return (r * cos(angle), r * sin(angle))
    }
    static let heartTriangle: [(Double, Double)] = [(-0.47, -0.08), (0.47, -0.08), (0.0, 0.48)]

    /// Whether the normalised point (u, v) lies inside the shape (docs/world.md's table).
    static func inside(_ shape: Int, u: Double, v: Double) -> Bool {
        switch World.shapes[shape] {
        case "circle": return u * u + v * v <= 0.25
        case "square": return abs(u) <= 0.5 && abs(v) <= 0.5
        case "triangle": return v >= -0.5 && v <= 0.5 && abs(u) <= (v + 0.5) / 2
        case "diamond": return abs(u) + abs(v) <= 0.5
        case "star": return inPolygon(u, v, star)
        case "heart":
            let r2 = 0.27 * 0.27
            let d1 = (u + 0.22) * (u + 0.22) + (v + 0.18) * (v + 0.18) <= r2
            let d2 = (u - 0.22) * (u - 0.22) + (v + 0.18) * (v + 0.18) <= r2
            return d1 || d2 || inPolygon(u, v, heartTriangle)
        case "cross": return (abs(u) <= 1.0 / 6 && abs(v) <= 0.5) || (abs(v) <= 1.0 / 6 && abs(u) <= 0.5)
        case "ring":
            let r = u * u + v * v
            return r >= 0.09 && r <= 0.25
        default: return false
        }
    }

    /// The even-odd rule (points exactly on an edge are measure zero for rendering).
    static func inPolygon(_ u: Double, _ v: Double, _ poly: [(Double, Double)]) -> Bool {
        var inside = false
        for i in poly.indices {
            let (x1, y1) = poly[i], (x2, y2) = poly[(i + 1) % poly.count]
            guard (y1 > v) != (y2 > v) else { continue }
            if u < x1 + (v - y1) * (x2 - x1) / (y2 - y1) { inside.toggle() }
        }
        return inside
    }
}
