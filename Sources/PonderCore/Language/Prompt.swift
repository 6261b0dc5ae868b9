/// A prompt of the Shapes world's prompt language (docs/world.md), parsed and checked.
public struct Prompt: Equatable {
    public struct Object: Equatable {
        /// Indices into World.shapes / colours / sizes; nil where the prompt leaves it open.
        public var shape: Int
        public var colour: Int?
        public var size: Int?
        /// Index into World.regions, when the object's phrase has a region placement.
        public var region: Int?
    }

    public struct Placement: Equatable {
        public var subject: Int
        public var relation: World.Relation
        public var target: Int
    }

    /// The normalised words (lower case, single spaces, no final full stop): the tokens the
    /// model reads.
    public let words: [String]
    public let objects: [Object]
    public let relations: [Placement]
    /// Index into World.backgrounds, when the prompt names one.
    public let background: Int?

    public var text: String { words.joined(separator: " ") }

    /// The words without the background phrase ("on a … background", always last): what
    /// the image tokens are drawn from, since images are drawn on white (Session).
    public var wordsOnWhite: [String] { background == nil ? words : Array(words.dropLast(4)) }

    /// Longest prompt accepted, in bytes, before any parsing work.
    public static let maxBytes = 1024
    /// The most words a valid prompt can have (four 12-word phrases with relations, three
    /// "and", "on a … background"); a model's context must hold this many.
    public static let maxWords = 4 * 12 + 3 + 4

    public init(_ input: String) throws {
        guard input.utf8.count <= Prompt.maxBytes else {
            throw PonderError.badPrompt("prompt is \(input.utf8.count) bytes long; at most \(Prompt.maxBytes) are accepted")
        }
        var folded = ""
        for scalar in input.unicodeScalars {
            if scalar.value >= 65 && scalar.value <= 90 {
                folded.unicodeScalars.append(Unicode.Scalar(scalar.value + 32)!)
            } else {
                folded.unicodeScalars.append(scalar)
            }
        }
        var words = folded.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if let last = words.last, last.hasSuffix(".") {
            let trimmed = String(last.dropLast())
            if trimmed.isEmpty { words.removeLast() } else { words[words.count - 1] = trimmed }
        }
        guard !words.isEmpty else { throw PonderError.badPrompt("prompt is empty") }
        var parser = PromptParser(words: words)
        let parsed = try parser.parse()
        self.words = words
        self.objects = parsed.objects
        self.relations = parsed.relations
        self.background = parsed.background
    }
}

private struct PromptParser {
    let words: [String]
    var i = 0
    var objects: [Prompt.Object] = []
    var relations: [Prompt.Placement] = []
    /// "the …" references, resolved once every object is known.
    var references: [(subject: Int, relation: World.Relation, size: Int?, colour: Int?, shape: Int, phrase: String)] = []
    /// Objects that a single-object phrase or an "a …" target brings in (reference candidates).
    var single: Set<Int> = []

    init(words: [String]) { self.words = words }

    var peek: String? { i < words.count ? words[i] : nil }

    func quoted(_ w: String?) -> String { w.map { "'\($0)'" } ?? "the end of the prompt" }

    mutating func expect(_ w: String, after context: String) throws {
        guard peek == w else {
            throw PonderError.badPrompt("expected '\(w)' \(context) but found \(quoted(peek))")
        }
        i += 1
    }

    mutating func parse() throws -> (objects: [Prompt.Object], relations: [Prompt.Placement], background: Int?) {
        var phrases = 0
        var background: Int?
        while true {
            phrases += 1
            guard phrases <= World.maxPhrases else {
                throw PonderError.badPrompt("too many phrases: at most \(World.maxPhrases) are allowed")
            }
            try phrase()
            if peek == "and" { i += 1; continue }
            if peek == "on" {
                i += 1
                try expect("a", after: "in 'on a … background'")
                guard let w = peek, let bg = World.backgrounds.firstIndex(of: w) else {
                    throw PonderError.badPrompt("\(quoted(peek)) is not a background colour (white, black, gray, beige)")
                }
                i += 1
                try expect("background", after: "after 'on a \(w)'")
                background = bg
            }
            break
        }
        if let w = peek {
            throw PonderError.badPrompt("unexpected word '\(w)' (expected 'and', 'on a … background' or the end)")
        }
        guard objects.count <= World.maxObjects else {
            throw PonderError.badPrompt("the prompt asks for \(objects.count) objects; at most \(World.maxObjects) are allowed")
        }
        for ref in references {
            let matches = single.sorted().filter { j in
                j != ref.subject && objects[j].shape == ref.shape
                    && (ref.colour == nil || objects[j].colour == ref.colour)
                    && (ref.size == nil || objects[j].size == ref.size)
            }
            // Objects in a phrase of count two or more also count: naming one of them is ambiguous.
            let multiMatches = objects.indices.filter { j in
                !single.contains(j) && objects[j].shape == ref.shape
                    && (ref.colour == nil || objects[j].colour == ref.colour)
                    && (ref.size == nil || objects[j].size == ref.size)
            }
            guard !matches.isEmpty || !multiMatches.isEmpty else {
                throw PonderError.badPrompt("'\(ref.phrase)' refers to no object the prompt brings in")
            }
            guard matches.count == 1, multiMatches.isEmpty else {
                throw PonderError.badPrompt("'\(ref.phrase)' could mean more than one object")
            }
            relations.append(Prompt.Placement(subject: ref.subject, relation: ref.relation, target: matches[0]))
        }
        return (objects, relations, background)
    }

    /// [size] [colour] shape, with the shape singular or plural as `plural` says.
    mutating func description(plural: Bool) throws -> (size: Int?, colour: Int?, shape: Int) {
        var size: Int?, colour: Int?
        if let w = peek, let s = World.sizes.firstIndex(of: w) { size = s; i += 1 }
        if let w = peek, let c = World.colours.firstIndex(of: w) { colour = c; i += 1 }
        guard let w = peek else { throw PonderError.badPrompt("the prompt ends where a shape was expected") }
        if let s = World.shapes.firstIndex(of: w) {
            guard !plural else { throw PonderError.badPrompt("'\(w)' should be plural ('\(World.shapePlurals[s])') after a count above one") }
            i += 1
            return (size, colour, s)
        }
        if let s = World.shapePlurals.firstIndex(of: w) {
            guard plural else { throw PonderError.badPrompt("'\(w)' should be singular ('\(World.shapes[s])') for one object") }
            i += 1
            return (size, colour, s)
        }
        if World.sizes.contains(w) || World.colours.contains(w) {
            throw PonderError.badPrompt("'\(w)' is out of place: the order is count, size, colour, shape")
        }
        throw PonderError.badPrompt("'\(w)' is not a shape (circle, square, triangle, diamond, star, heart, cross, ring)")
    }

    mutating func phrase() throws {
        guard let w = peek else { throw PonderError.badPrompt("the prompt ends where a phrase was expected") }
        guard let count = World.countWords[w] else {
            throw PonderError.badPrompt("'\(w)' cannot start a phrase (expected a count: a, an, one, two, three, four)")
        }
        i += 1
        let d = try description(plural: count > 1)
        guard objects.count + count <= World.maxObjects else {
            throw PonderError.badPrompt("'\(w)' makes the prompt ask for more than \(World.maxObjects) objects")
        }
        let first = objects.count
        for _ in 0..<count { objects.append(Prompt.Object(shape: d.shape, colour: d.colour, size: d.size, region: nil)) }
        if count == 1 { single.insert(first) }

        // Placement: a region phrase or a relation.
        if let r = try region() {
            for j in first..<objects.count { objects[j].region = r }
            return
        }
        guard let relation = try relationWords() else { return }
        guard count == 1 else {
            throw PonderError.badPrompt("a relation ('\(relation.words.joined(separator: " "))') needs a phrase of count one, not '\(w)'")
        }
        guard let article = peek else { throw PonderError.badPrompt("the prompt ends after '\(relation.words.joined(separator: " "))'") }
        let start = i
        switch article {
        case "a", "an":
            i += 1
            let t = try description(plural: false)
            guard objects.count < World.maxObjects else {
                throw PonderError.badPrompt("'\(words[start..<i].joined(separator: " "))' makes the prompt ask for more than \(World.maxObjects) objects")
            }
            objects.append(Prompt.Object(shape: t.shape, colour: t.colour, size: t.size, region: nil))
            single.insert(objects.count - 1)
            relations.append(Prompt.Placement(subject: first, relation: relation, target: objects.count - 1))
        case "the":
            i += 1
            let t = try description(plural: false)
            references.append((first, relation, t.size, t.colour, t.shape, words[start..<i].joined(separator: " ")))
        default:
            throw PonderError.badPrompt("expected 'a', 'an' or 'the' after '\(relation.words.joined(separator: " "))' but found '\(article)'")
        }
    }

    /// Matches a region phrase at the cursor; nil (cursor unmoved) when none starts here.
    mutating func region() throws -> Int? {
        // "on a … background" also starts with "on"; it is not a region.
        guard let w = peek, ["in", "at", "on"].contains(w), i + 1 < words.count, words[i + 1] == "the" else { return nil }
        for (index, r) in World.regions.enumerated() where i + r.words.count <= words.count {
            if Array(words[i..<(i + r.words.count)]) == r.words {
                i += r.words.count
                return index
            }
        }
        let rest = words[i..<min(words.count, i + 5)].joined(separator: " ")
        throw PonderError.badPrompt("'\(rest)' is not a region (e.g. 'in the top left corner', 'at the top', 'on the left', 'in the center')")
    }

    mutating func relationWords() throws -> World.Relation? {
        for r in World.Relation.allCases where i + r.words.count <= words.count {
            if Array(words[i..<(i + r.words.count)]) == r.words {
                i += r.words.count
                return r
            }
        }
        if peek == "to" {
            let rest = words[i..<min(words.count, i + 4)].joined(separator: " ")
            throw PonderError.badPrompt("'\(rest)' is not a relation (to the left of, to the right of, above, below)")
        }
        return nil
    }
}
