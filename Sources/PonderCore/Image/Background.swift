/// Moving an image from one of the world's backgrounds onto another.
///
/// The model draws every image on white; the engine then lays in the background the plan
/// (or the prompt) names. Each pixel is read as the source background blended with the
/// object colour that explains it best, at some coverage, and blended again with the target
/// background at that coverage: what the renderer would have drawn there (no pixel mixes
/// two objects, since objects keep `World.gap` apart). Spec: docs/format.md, "Backgrounds";
/// the training side's `rebackground` (training/ponder_train/image/background.py) is the same
/// arithmetic, and a test holds the two to each other.
public enum Background {
    /// Rewrites `pixels` RGB8 pixels at `rgb` in place. Indices are into World.backgrounds;
    /// callers take them from a parsed prompt or plan, and any other index leaves the image
    /// as it is rather than trap.
    public static func move(_ rgb: UnsafeMutablePointer<UInt8>, pixels: Int, from source: Int, to target: Int) {
        let valid = World.backgroundRGB.indices
        guard source != target, valid.contains(source), valid.contains(target), pixels > 0 else { return }
        let s = World.backgroundRGB[source], t = World.backgroundRGB[target]
        let src = (Double(s.0), Double(s.1), Double(s.2)), dst = (Double(t.0), Double(t.1), Double(t.2))
        // Each object colour as a direction from the source background, and its squared length.
        let colours = World.colourRGB.map { (Double($0.0), Double($0.1), Double($0.2)) }
        let dirs = colours.map { ($0.0 - src.0, $0.1 - src.1, $0.2 - src.2) }
        let lengths = dirs.map { $0.0 * $0.0 + $0.1 * $0.1 + $0.2 * $0.2 }
        for i in 0..<pixels {
            let px = rgb + 3 * i
            let p = (Double(px[0]) - src.0, Double(px[1]) - src.1, Double(px[2]) - src.2)
            var best = 0, bestAlpha = 0.0, bestResidual = Double.infinity
            for k in 0..<dirs.count {
                let d = dirs[k]
                let alpha = min(1, max(0, (p.0 * d.0 + p.1 * d.1 + p.2 * d.2) / lengths[k]))
                let r = (p.0 - alpha * d.0, p.1 - alpha * d.1, p.2 - alpha * d.2)
                let residual = (r.0 * r.0 + r.1 * r.1 + r.2 * r.2).squareRoot()
                if residual < bestResidual { best = k; bestAlpha = alpha; bestResidual = residual }
            }
            let c = colours[best], a = bestAlpha
            px[0] = UInt8((c.0 * a + dst.0 * (1 - a) + 0.5).rounded(.down))
            px[1] = UInt8((c.1 * a + dst.1 * (1 - a) + 0.5).rounded(.down))
            px[2] = UInt8((c.2 * a + dst.2 * (1 - a) + 0.5).rounded(.down))
        }
    }

    /// The world background nearest the median colour of the image's border: the four edges,
    /// corners counted twice, each channel's median the mean of the middle two of 4·side
    /// values (training's `world.detect_background`, held to it by a test).
    public static func detect(_ rgb: [UInt8], width: Int, height: Int) -> Int {
        guard width > 0, height > 0, rgb.count >= width * height * 3 else { return 0 }
        var median = [Double](repeating: 0, count: 3)
        for ch in 0..<3 {
            var border: [UInt8] = []
            border.reserveCapacity(2 * (width + height))
            for x in 0..<width { border.append(rgb[x * 3 + ch]); border.append(rgb[((height - 1) * width + x) * 3 + ch]) }
            for y in 0..<height { border.append(rgb[(y * width) * 3 + ch]); border.append(rgb[(y * width + width - 1) * 3 + ch]) }
            border.sort()
            let n = border.count
            median[ch] = n % 2 == 1 ? Double(border[n / 2]) : (Double(border[n / 2 - 1]) + Double(border[n / 2])) / 2
        }
        var best = 0, bestDistance = Double.infinity
        for (i, c) in World.backgroundRGB.enumerated() {
            let d0 = Double(c.0) - median[0], d1 = Double(c.1) - median[1], d2 = Double(c.2) - median[2]
            let d = d0 * d0 + d1 * d1 + d2 * d2
            if d < bestDistance { best = i; bestDistance = d }
        }
        return best
    }
}
