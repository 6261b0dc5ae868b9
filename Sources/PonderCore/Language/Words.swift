/// What a word is and what a word outside the language was likely meant to be, so that a
/// message can name the role a word plays and suggest the near miss (docs/world.md, "Words
/// outside the language"). Only error paths use this.
extension World {
    /// The part a word of the language plays.
    public enum Role: Equatable {
        case count, size, colour, shape, shapePlural, background, other

        /// The role of `word`, a word of the prompt language or the plan grammar.
        public init(of word: String) {
            if World.countWords[word] != nil { self = .count }
            else if World.sizes.contains(word) { self = .size }
            else if World.colours.contains(word) { self = .colour }
            else if World.shapes.contains(word) { self = .shape }
            else if World.shapePlurals.contains(word) { self = .shapePlural }
            else if World.backgrounds.contains(word) { self = .background }
            else { self = .other }
        }

        /// The role with its article, as messages name it: "a colour".
        public var name: String {
            switch self {
            case .count: return "a count"
            case .size: return "a size"
            case .colour: return "a colour"
            case .shape, .shapePlural: return "a shape"
            case .background: return "a background colour"
            case .other: return "a word"
            }
        }

        /// The role's words, for messages: "colours: red, orange, …".
        public var listing: String {
            switch self {
            case .count: return "counts: a, an, one, two, three, four"
            case .size: return "sizes: " + World.sizes.joined(separator: ", ")
            case .colour: return "colours: " + World.colours.joined(separator: ", ")
            case .shape: return "shapes: " + World.shapes.joined(separator: ", ")
            case .shapePlural: return "shapes: " + World.shapePlurals.joined(separator: ", ")
            case .background: return "backgrounds: " + World.backgrounds.joined(separator: ", ")
            case .other: return ""
            }
        }
    }

    /// Everyday words for words of the language, each with the word it stands for; the plural
    /// of a shape's synonym ("boxes", "ovals") stands for the shape's plural. The table of
    /// docs/world.md, "Words outside the language" (a test keeps the two the same).
    public static let synonyms: [(word: String, means: String)] = [
        ("tiny", "small"), ("little", "small"), ("mid", "medium"), ("big", "large"), ("huge", "large"),
        ("crimson", "red"), ("scarlet", "red"), ("maroon", "red"), ("amber", "orange"),
        ("gold", "yellow"), ("golden", "yellow"), ("lime", "green"), ("olive", "green"), ("teal", "green"),
        ("navy", "blue"), ("cyan", "blue"), ("azure", "blue"), ("violet", "purple"), ("lilac", "purple"),
        ("lavender", "purple"), ("indigo", "purple"), ("magenta", "pink"), ("fuchsia", "pink"),
        ("rose", "pink"), ("tan", "brown"), ("chocolate", "brown"),
        ("grey", "gray"), ("cream", "beige"), ("ivory", "beige"),
        ("oval", "circle"), ("ellipse", "circle"), ("disc", "circle"), ("disk", "circle"), ("dot", "circle"),
        ("rectangle", "square"), ("box", "square"), ("rhombus", "diamond"), ("lozenge", "diamond"),
        ("pentagram", "star"), ("plus", "cross"), ("donut", "ring"), ("doughnut", "ring"), ("hoop", "ring"),
        ("1", "one"), ("2", "two"), ("3", "three"), ("4", "four"),
        ("centre", "center"), ("middle", "center"), ("upper", "top"), ("lower", "bottom"),
        ("over", "above"), ("under", "below"), ("beneath", "below"), ("underneath", "below"),
    ]

    /// The word of the language that `word` stands for in `synonyms`, plurals included.
    static func synonym(of word: String) -> String? {
        if let s = synonyms.first(where: { $0.word == word }) { return s.means }
        for suffix in ["s", "es"] where word.hasSuffix(suffix) {
            let stem = String(word.dropLast(suffix.count))
            if let s = synonyms.first(where: { $0.word == stem }), let k = shapes.firstIndex(of: s.means) {
                return shapePlurals[k]
            }
        }
        return nil
    }

    /// Words of the language `word` was likely meant to be, best first: its synonym, the
    /// same word in lower case, else the candidates a small edit away (optimal string
    /// alignment distance: 1 for words of 3 to 5 letters, 2 from 6 letters; all at the
    /// least distance). Empty when nothing is near. `candidates` defaults to every prompt word.
    public static func nearMisses(of word: String, among candidates: [String] = World.promptWords) -> [String] {
        if let s = synonym(of: word), candidates.contains(s) { return [s] }
        let lower = String(word.lowercased())
        if lower != word, candidates.contains(lower) { return [lower] }
        let w = Array(lower.unicodeScalars)
        let limit = w.count >= 6 ? 2 : (w.count >= 3 ? 1 : 0)
        guard limit > 0 else { return [] }
        var best: [String] = [], bestDistance = limit + 1
        for c in candidates {
            let d = editDistance(w, Array(c.unicodeScalars), limit: limit)
            if d < bestDistance { best = [c]; bestDistance = d } else if d == bestDistance { best.append(c) }
        }
        return bestDistance <= limit ? Array(best.prefix(3)) : []
    }

    /// Optimal string alignment distance (insertions, deletions, substitutions and swaps of
    /// neighbours), or `limit + 1` when it is over `limit`.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], limit: Int) -> Int {
        if abs(a.count - b.count) > limit { return limit + 1 }
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowBest = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var d = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d = min(d, before[j - 2] + 1) }
                current[j] = d
                rowBest = min(rowBest, d)
            }
            if rowBest > limit { return limit + 1 }
            (before, previous, current) = (previous, current, before)
        }
        return min(previous[b.count], limit + 1)
    }

    /// "did you mean 'x'?" or "did you mean 'x' or 'y'?"; empty for no suggestion.
    static func didYouMean(_ words: [String]) -> String {
        guard !words.isEmpty else { return "" }
        return "did you mean " + words.map { "'\($0)'" }.joined(separator: " or ") + "?"
    }

    /// The region or relation phrase (of `phrases`) that the words at the start of `words`
    /// were likely meant to be, and how many of them it stands for: each word is first read
    /// as its synonym or unique near miss, then the phrase may differ by words put in, left
    /// out or swapped that cost at most 2 in all (a function word, in, at, on, the, to or of,
    /// costs 1; another word 2). The phrase with the most words in common wins, then the
    /// cheapest. Nil when none is near or two are equally near.
    static func nearestPhrase(_ words: ArraySlice<String>, among phrases: [[String]]) -> (phrase: [String], used: Int)? {
        let function: Set<String> = ["in", "at", "on", "the", "to", "of"]
        let input = words.prefix(7).prefix { $0 != "and" }.map { w -> String in
            if World.promptWords.contains(w) { return w }
            let m = nearMisses(of: w)
            return m.count == 1 ? m[0] : w
        }
        func weight(_ w: String) -> Int { function.contains(w) ? 1 : 2 }
        func distance(_ a: [String], _ b: [String]) -> Int {
            var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0..<a.count { d[i + 1][0] = d[i][0] + weight(a[i]) }
            for j in 0..<b.count { d[0][j + 1] = d[0][j] + weight(b[j]) }
            for i in 0..<a.count {
                for j in 0..<b.count {
                    let swap = a[i] == b[j] ? 0 : max(weight(a[i]), weight(b[j]))
                    d[i + 1][j + 1] = min(d[i][j + 1] + weight(a[i]), d[i + 1][j] + weight(b[j]), d[i][j] + swap)
                }
            }
            return d[a.count][b.count]
        }
        func common(_ a: [String], _ b: [String]) -> Int {
            var l = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
            for i in 0..<a.count {
                for j in 0..<b.count { l[i + 1][j + 1] = a[i] == b[j] ? l[i][j] + 1 : max(l[i][j + 1], l[i + 1][j]) }
            }
            return l[a.count][b.count]
        }
        // Best: the most words in common, then the least cost, then the most words used,
        // then the phrase that starts with the same word.
        var best: (phrase: [String], key: [Int])?
        var tied = false
        for p in phrases {
            for used in stride(from: 1, through: min(input.count, p.count + 2), by: 1) {
                let a = Array(input[0..<used])
                let cost = distance(a, p)
                guard cost <= 2 else { continue }
                let key = [common(a, p), -cost, used, p.first == input.first ? 1 : 0]
                if let b = best {
                    if key == b.key { if p != b.phrase { tied = true }; continue }
                    guard key.lexicographicallyPrecedes(b.key) == false else { continue }
                }
                best = (p, key)
                tied = false
            }
        }
        guard let best, !tied else { return nil }
        return (best.phrase, best.key[2])
    }
}
