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
        var words = World.words(of: folded)
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
    var next: String? { i + 1 < words.count ? words[i + 1] : nil }

    func quoted(_ w: String?) -> String { w.map { "'\($0)'" } ?? "the end of the prompt" }

    /// Up to `count` words from `start`, ending before an "and" when `toAnd`, for messages.
    func snippet(from start: Int, count: Int = 5, toAnd: Bool = true) -> String {
        var end = min(words.count, start + count)
        if toAnd, let k = words[start..<end].firstIndex(of: "and"), k > start { end = k }
        return words[start..<end].joined(separator: " ") + (end < words.count && end == start + count ? " …" : "")
    }

    static let regionList = "regions: " + World.regions.map { $0.words.joined(separator: " ") }.joined(separator: ", ")
    static let relationList = "relations: " + World.Relation.allCases.map { $0.words.joined(separator: " ") }.joined(separator: ", ")

    mutating func expect(_ w: String, after context: String) throws {
        guard peek == w else {
            var message = "expected '\(w)' \(context) but found \(quoted(peek))"
            if let p = peek, World.nearMisses(of: p, among: [w]) == [w] { message += "; " + World.didYouMean([w]) }
            throw PonderError.badPrompt(message)
        }
        i += 1
    }

    mutating func parse() throws -> (objects: [Prompt.Object], relations: [Prompt.Placement], background: Int?) {
        var phrases = 0
        var background: Int?
        var phraseStart = 0
        var placement: String?
        while true {
            phrases += 1
            guard phrases <= World.maxPhrases else {
                throw PonderError.badPrompt("too many phrases: at most \(World.maxPhrases) are allowed")
            }
            phraseStart = i
            placement = try phrase()
            if peek == "and" { i += 1; continue }
            // "on the …" after a placed phrase is a second placement, reported below.
            if peek == "on" && next != "the" {
                i += 1
                try expect("a", after: "in 'on a … background'")
                guard let w = peek, let bg = World.backgrounds.firstIndex(of: w) else { throw notABackground(peek) }
                i += 1
                try expect("background", after: "after 'on a \(w)'")
                background = bg
            }
            break
        }
        if peek != nil {
            throw unexpected(phrase: words[phraseStart..<i].joined(separator: " "), placement: placement, afterBackground: background != nil)
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

    /// The word at the cursor, after `phrase` (its placement's words in `placement`) or after
    /// the background phrase, is none of what may come there. The message says what may,
    /// never listing the word found.
    func unexpected(phrase: String, placement: String?, afterBackground: Bool) -> PonderError {
        let w = words[i]
        if afterBackground {
            return PonderError.badPrompt("'\(snippet(from: i, toAnd: false))' follows the background phrase; 'on a … background' comes last, after every object")
        }
        switch World.Role(of: w) {
        case .count:
            return PonderError.badPrompt("'\(w)' starts a new phrase after '\(phrase)'; phrases are joined with 'and'")
        case .size, .colour:
            return PonderError.badPrompt("'\(w)' is \(World.Role(of: w).name) and out of place after '\(phrase)': the order is count, size, colour, shape")
        case .shape, .shapePlural:
            return PonderError.badPrompt("'\(w)' is a second shape after '\(phrase)': a phrase names one shape, and phrases are joined with 'and'")
        case .background:
            return PonderError.badPrompt("'\(w)' is a background colour; the background is asked for last: 'on a \(w) background'")
        case .other:
            break
        }
        let placements = World.regions.map(\.words) + World.Relation.allCases.map(\.words)
        let near = World.nearestPhrase(words[i...], among: placements)
        if let placement {
            if ["in", "at", "on", "to", "above", "below"].contains(w) || near != nil {
                return PonderError.badPrompt("'\(snippet(from: i))' is a second placement: a phrase has one, and '\(phrase)' is placed by '\(placement)' already")
            }
        } else if let near {
            let isRegion = World.regions.contains { $0.words == near.phrase }
            let bad = words[i..<(i + near.used)].joined(separator: " ")
            return PonderError.badPrompt("'\(bad)' is not a \(isRegion ? "region" : "relation") the prompt language knows; did you mean '\(near.phrase.joined(separator: " "))'? (\(isRegion ? PromptParser.regionList : PromptParser.relationList))")
        }
        let expected = placement == nil
            ? "a placement (a region such as 'in the center', or a relation: to the left of, to the right of, above, below), 'and', 'on a … background' or the end"
            : "'and', 'on a … background' or the end"
        var message = "unexpected word '\(w)' after '\(phrase)': expected \(expected)"
        let misses = World.nearMisses(of: w, among: ["and", "on"])
        if !misses.isEmpty { message += "; " + World.didYouMean(misses) }
        return PonderError.badPrompt(message)
    }

    func notABackground(_ w: String?) -> PonderError {
        guard let w else { return PonderError.badPrompt("the prompt ends where a background colour was expected (white, black, gray, beige)") }
        if World.colours.contains(w) {
            return PonderError.badPrompt("'\(w)' is an object's colour, not a background colour (\(World.Role.background.listing))")
        }
        let misses = World.nearMisses(of: w, among: World.backgrounds)
        if !misses.isEmpty {
            return PonderError.badPrompt("'\(w)' is not a background colour the prompt language knows; \(World.didYouMean(misses)) (\(World.Role.background.listing))")
        }
        return PonderError.badPrompt("'\(w)' is not a background colour (white, black, gray, beige)")
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
        throw notADescriptionWord(w, plural: plural, sizeOpen: size == nil && colour == nil, colourOpen: colour == nil)
    }

    /// `w` stands where a size (when `sizeOpen`), a colour (when `colourOpen`) or a shape may.
    func notADescriptionWord(_ w: String, plural: Bool, sizeOpen: Bool, colourOpen: Bool) -> PonderError {
        let shapeRole: World.Role = plural ? .shapePlural : .shape
        let order = "the order is count, size, colour, shape"
        switch World.Role(of: w) {
        case .size, .colour:
            return PonderError.badPrompt("'\(w)' is \(World.Role(of: w).name) and out of place: \(order)")
        case .background:
            return PonderError.badPrompt("'\(w)' is a background colour, not an object's colour (\(World.Role.colour.listing)); a background is asked for last: 'on a \(w) background'")
        case .count:
            return PonderError.badPrompt("'\(w)' is a count and out of place: \(order)")
        case .other where World.promptWords.contains(w):
            return PonderError.badPrompt("'\(w)' stands where a shape was expected (\(shapeRole.listing))")
        case .shape, .shapePlural, .other:
            break  // shapes are handled by the caller; words outside the language below
        }
        var open: [World.Role] = []
        if sizeOpen { open.append(.size) }
        if colourOpen { open.append(.colour) }
        open.append(shapeRole)
        let misses = World.nearMisses(of: w).map { m -> String in
            // The shape in the number the count asks for.
            if plural, let k = World.shapes.firstIndex(of: m) { return World.shapePlurals[k] }
            if !plural, let k = World.shapePlurals.firstIndex(of: m) { return World.shapes[k] }
            return m
        }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        if let first = misses.first {
            var role = World.Role(of: first)
            if role == .shape || role == .shapePlural { role = shapeRole }
            var message: String
            switch role {
            case .background:
                message = "'\(w)' is not an object's colour (\(World.Role.colour.listing)); '\(first)' is a background colour, asked for last: 'on a \(first) background'"
            case .other, .count:
                message = "'\(w)' is not \(open.map { $0.name }.joined(separator: ", ")); \(World.didYouMean(misses))"
            default:
                message = "'\(w)' is not \(role.name) the prompt language knows; \(World.didYouMean(misses)) (\(role.listing))"
                if !open.contains(role) { message += "; \(order)" }
            }
            return PonderError.badPrompt(message)
        }
        let names = open.map { String($0.name.dropFirst(2)) }
        let roles = names.count == 1 ? names[0] : names.dropLast().joined(separator: ", ") + " or " + names.last!
        return PonderError.badPrompt("'\(w)' is not a \(roles) (\(open.map { $0.listing }.joined(separator: "; ")))")
    }

    /// A phrase: a count, a description and at most one placement; returns the placement's
    /// words, if it has one.
    mutating func phrase() throws -> String? {
        guard let w = peek else { throw PonderError.badPrompt("the prompt ends where a phrase was expected") }
        guard let count = World.countWords[w] else { throw notACount(w) }
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
            return World.regions[r].words.joined(separator: " ")
        }
        guard let relation = try relationWords() else { return nil }
        let relationText = relation.words.joined(separator: " ")
        guard count == 1 else {
            throw PonderError.badPrompt("a relation ('\(relationText)') needs a phrase of count one, not '\(w)'")
        }
        guard let article = peek else { throw PonderError.badPrompt("the prompt ends after '\(relationText)'") }
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
            var message = "expected 'a', 'an' or 'the' after '\(relationText)' but found '\(article)'"
            if let n = World.countWords[article], n > 1 { message += ": a relation's target is one object" }
            throw PonderError.badPrompt(message)
        }
        return relationText
    }

    /// `w` starts a phrase but is not a count.
    func notACount(_ w: String) -> PonderError {
        let counts = "a, an, one, two, three, four"
        switch World.Role(of: w) {
        case .size, .colour, .shape:
            return PonderError.badPrompt("'\(w)' is \(World.Role(of: w).name), and a phrase starts with a count (\(counts)), e.g. 'a \(w)\(World.shapes.contains(w) ? "" : " …")'")
        case .shapePlural:
            return PonderError.badPrompt("'\(w)' is a shape, and a phrase starts with a count (\(counts)), e.g. 'two \(w)'")
        case .background:
            return PonderError.badPrompt("'\(w)' is a background colour; a phrase starts with a count (\(counts)), and the background is asked for last: 'on a \(w) background'")
        case .count, .other:
            break
        }
        if w == "the" {
            return PonderError.badPrompt("'the' cannot start a phrase: a phrase starts with a count (\(counts)); 'the …' refers to an object after a relation")
        }
        let misses = World.nearMisses(of: w, among: Array(World.countWords.keys).sorted())
        if !misses.isEmpty {
            return PonderError.badPrompt("'\(w)' is not a count the prompt language knows; \(World.didYouMean(misses)) (\(World.Role.count.listing))")
        }
        let tooMany = ["five", "six", "seven", "eight", "nine", "ten", "several", "many"]
        if tooMany.contains(w) || (w.unicodeScalars.allSatisfy { $0.properties.numericType != nil } && !w.isEmpty) {
            return PonderError.badPrompt("'\(w)' cannot start a phrase: a phrase's count is one to four, in words (\(counts)), and a prompt asks for at most \(World.maxObjects) objects")
        }
        return PonderError.badPrompt("'\(w)' cannot start a phrase (expected a count: \(counts))")
    }

    /// Matches a region phrase at the cursor; nil (cursor unmoved) when none starts here.
    mutating func region() throws -> Int? {
        // "on a … background" also starts with "on"; it is not a region.
        guard let w = peek, w == "in" || w == "at" || (w == "on" && next == "the") else { return nil }
        for (index, r) in World.regions.enumerated() where i + r.words.count <= words.count {
            if Array(words[i..<(i + r.words.count)]) == r.words {
                i += r.words.count
                return index
            }
        }
        if let near = World.nearestPhrase(words[i...], among: World.regions.map(\.words)) {
            let bad = words[i..<(i + near.used)].joined(separator: " ")
            throw PonderError.badPrompt("'\(bad)' is not a region; did you mean '\(near.phrase.joined(separator: " "))'? (\(PromptParser.regionList))")
        }
        throw PonderError.badPrompt("'\(snippet(from: i))' is not a region (\(PromptParser.regionList))")
    }

    mutating func relationWords() throws -> World.Relation? {
        for r in World.Relation.allCases where i + r.words.count <= words.count {
            if Array(words[i..<(i + r.words.count)]) == r.words {
                i += r.words.count
                return r
            }
        }
        if peek == "to" {
            if let near = World.nearestPhrase(words[i...], among: World.Relation.allCases.map(\.words)) {
                let bad = words[i..<(i + near.used)].joined(separator: " ")
                throw PonderError.badPrompt("'\(bad)' is not a relation; did you mean '\(near.phrase.joined(separator: " "))'? (\(PromptParser.relationList))")
            }
            throw PonderError.badPrompt("'\(snippet(from: i, count: 4))' is not a relation (\(PromptParser.relationList))")
        }
        return nil
    }
}
