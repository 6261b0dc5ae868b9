/// The Shapes world's vocabulary and constants, as defined in docs/world.md.
/// This is the engine's one copy of them; the prompt parser, the plan grammar and the
/// validity rules all read from here.
public enum World {
    /// The version of docs/world.md this engine implements; a model file names the one it
    /// was trained on (`ponder.world.version`).
    public static let version = 1
    public static let canvas = 128
    /// An object's box must keep this far from every edge.
    public static let margin = 2
    /// The least gap between two objects' boxes, along x or along y.
    public static let gap = 4
    /// Relations need the centres this far apart on the named axis.
    public static let relationDistance = 8
    public static let maxObjects = 4
    public static let maxPhrases = 4

    public static let shapes = ["circle", "square", "triangle", "diamond", "star", "heart", "cross", "ring"]
    public static let shapePlurals = ["circles", "squares", "triangles", "diamonds", "stars", "hearts", "crosses", "rings"]
    public static let colours = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown"]
    public static let sizes = ["small", "medium", "large"]
    public static let sizePixels = [16, 24, 36]
    public static let backgrounds = ["white", "black", "gray", "beige"]

    public static let colourRGB: [(UInt8, UInt8, UInt8)] = [
        (215, 48, 39), (244, 140, 30), (240, 210, 40), (50, 160, 70),
        (40, 90, 210), (130, 60, 170), (240, 130, 190), (140, 90, 50),
    ]
    public static let backgroundRGB: [(UInt8, UInt8, UInt8)] = [
        (255, 255, 255), (24, 24, 24), (128, 128, 128), (240, 228, 200),
    ]

    /// Region phrases and their (column, row) in the 3 × 3 grid.
    public static let regions: [(words: [String], column: Int, row: Int)] = [
        (["in", "the", "top", "left", "corner"], 0, 0),
        (["at", "the", "top"], 1, 0),
        (["in", "the", "top", "right", "corner"], 2, 0),
        (["on", "the", "left"], 0, 1),
        (["in", "the", "center"], 1, 1),
        (["on", "the", "right"], 2, 1),
        (["in", "the", "bottom", "left", "corner"], 0, 2),
        (["at", "the", "bottom"], 1, 2),
        (["in", "the", "bottom", "right", "corner"], 2, 2),
    ]

    public enum Relation: Int, CaseIterable {
        case leftOf, rightOf, above, below
        public var words: [String] {
            switch self {
            case .leftOf: return ["to", "the", "left", "of"]
            case .rightOf: return ["to", "the", "right", "of"]
            case .above: return ["above"]
            case .below: return ["below"]
            }
        }
    }

    public static let countWords = ["a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4]

    /// Every word a prompt may contain; a model's vocabulary must hold them all.
    public static var promptWords: [String] {
        var words = Array(countWords.keys).sorted() + sizes + colours + shapes + shapePlurals + backgrounds
        words += ["and", "on", "background", "the", "of"]
        for region in regions { words += region.words }
        for relation in Relation.allCases { words += relation.words }
        var seen = Set<String>()
        return words.filter { seen.insert($0).inserted }
    }

    /// Whether `scalar` separates words in prompts and plans: any Unicode white space (space,
    /// tab, line ends, no-break and other wide spaces), so a prompt read from a file with
    /// its final line end reads as typed.
    public static func separates(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isWhitespace }

    /// The words of `text`: the runs between separators.
    public static func words(of text: String) -> [String] {
        var words: [String] = [], current = ""
        for scalar in text.unicodeScalars {
            if separates(scalar) {
                if !current.isEmpty { words.append(current); current = "" }
            } else {
                current.unicodeScalars.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Index of the 3 × 3 grid cell (0, 1 or 2) holding coordinate `c`.
    public static func third(_ c: Double) -> Int {
        let t = Double(canvas) / 3
        return c < t ? 0 : (c < 2 * t ? 1 : 2)
    }

    /// Whether two boxes (centre, side) keep the required gap along x or along y.
    public static func separated(x1: Double, y1: Double, s1: Double, x2: Double, y2: Double, s2: Double) -> Bool {
        let gapX = abs(x1 - x2) - (s1 + s2) / 2
        let gapY = abs(y1 - y2) - (s1 + s2) / 2
        return gapX >= Double(gap) || gapY >= Double(gap)
    }

    /// Whether a box (centre, side) lies inside the canvas with the margin to spare.
    public static func inside(x: Double, y: Double, s: Double) -> Bool {
        let lo = Double(margin), hi = Double(canvas - margin)
        return x - s / 2 >= lo && x + s / 2 <= hi && y - s / 2 >= lo && y + s / 2 <= hi
    }

    /// Whether relation `r` holds from a centre (ax, ay) to (bx, by).
    public static func holds(_ r: Relation, ax: Double, ay: Double, bx: Double, by: Double) -> Bool {
        let d = Double(relationDistance)
        switch r {
        case .leftOf: return ax <= bx - d
        case .rightOf: return ax >= bx + d
        case .above: return ay <= by - d
        case .below: return ay >= by + d
        }
    }
}
