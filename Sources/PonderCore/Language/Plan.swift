/// A plan: the layout the model writes before drawing (docs/plan.md).
///
/// Text form, one item per line:
///
///     background white
///     large red circle at 64 40
///     small blue star at 30 90
///
/// Every word is one token. Coordinates are whole pixels (0 to 127) of the object's centre.
public struct Plan: Equatable {
    public struct Object: Equatable {
        public var shape: Int
        public var colour: Int
        public var size: Int
        public var x: Int
        public var y: Int

        public var side: Int { World.sizePixels[size] }

        public var words: [String] {
            [World.sizes[size], World.colours[colour], World.shapes[shape], "at", String(x), String(y)]
        }
    }

    public var background: Int
    public var objects: [Object]

    public static let grammarVersion = 1
    public static let maxBytes = 4096
    /// Tokens in the longest plan: the background line and six words per object.
    public static let maxTokens = 2 + 6 * World.maxObjects

    public init(background: Int, objects: [Object]) {
        self.background = background
        self.objects = objects
    }

    /// The plan's tokens, in order: "background", colour, then six words per object.
    public var words: [String] {
        var w = ["background", World.backgrounds[background]]
        for o in objects { w += o.words }
        return w
    }

    /// Canonical text: the background line, then one line per object.
    public var text: String {
        var lines = ["background " + World.backgrounds[background]]
        for o in objects { lines.append(o.words.joined(separator: " ")) }
        return lines.joined(separator: "\n")
    }

    /// Parses and validates plan text; the error names the bad line and word.
    public init(text: String) throws {
        guard text.utf8.count <= Plan.maxBytes else {
            throw PonderError.badPlan("plan is \(text.utf8.count) bytes long; at most \(Plan.maxBytes) are accepted")
        }
        var grammar = PlanGrammar()
        var line = 1
        var tokens: [String] = []
        var lineOf: [Int] = []
        var current = ""
        for ch in text.unicodeScalars {
            if World.separates(ch) {
                if !current.isEmpty { tokens.append(current); lineOf.append(line); current = "" }
                if ch == "\n" { line += 1 }
            } else {
                current.unicodeScalars.append(ch)
            }
        }
        if !current.isEmpty { tokens.append(current); lineOf.append(line) }
        guard !tokens.isEmpty else { throw PonderError.badPlan("plan is empty") }
        for (k, token) in tokens.enumerated() {
            do {
                try grammar.accept(word: token)
            } catch let e as PonderError {
                throw PonderError.badPlan("plan line \(lineOf[k]): \(e.message)")
            }
        }
        guard grammar.canEnd else {
            throw PonderError.badPlan("plan ends early: \(grammar.expectation)")
        }
        self = grammar.plan
    }
}

/// The plan's token grammar as a state machine, used both to validate a caller's plan and,
/// during thinking, to allow only tokens that keep the plan valid: correct syntax, every
/// object inside the canvas with the margin, every pair of objects the required gap apart.
public struct PlanGrammar {
    public enum Expect: Equatable {
        case backgroundKeyword, backgroundColour, sizeOrEnd, colour, shape, at, x, y, end
    }

    public private(set) var state: Expect = .backgroundKeyword
    public private(set) var plan = Plan(background: 0, objects: [])
    private var pending = Plan.Object(shape: 0, colour: 0, size: 0, x: 0, y: 0)

    public init() {}

    public var canEnd: Bool { state == .sizeOrEnd && !plan.objects.isEmpty || state == .end }

    public var expectation: String {
        switch state {
        case .backgroundKeyword: return "expected 'background'"
        case .backgroundColour: return "expected a background colour (white, black, gray, beige)"
        case .sizeOrEnd: return plan.objects.isEmpty ? "expected an object (size colour shape at x y)" : "expected an object or the end"
        case .colour: return "expected a colour"
        case .shape: return "expected a shape"
        case .at: return "expected 'at'"
        case .x: return "expected the x coordinate"
        case .y: return "expected the y coordinate"
        case .end: return "expected the end of the plan (at most \(World.maxObjects) objects)"
        }
    }

    /// Coordinates (whole pixels) at which a box of side `s` fits inside the canvas.
    static func coordinateRange(side s: Int) -> ClosedRange<Int> {
        // x - s/2 >= margin and x + s/2 <= canvas - margin; sides are even.
        (World.margin + s / 2)...(World.canvas - World.margin - s / 2)
    }

    /// Whether a new object of side `s` at (x, y) keeps the gap to every placed object.
    func fits(x: Int, y: Int, side s: Int) -> Bool {
        for o in plan.objects where !World.separated(x1: Double(x), y1: Double(y), s1: Double(s),
                                                     x2: Double(o.x), y2: Double(o.y), s2: Double(o.side)) {
            return false
        }
        return true
    }

    func anyY(x: Int, side s: Int) -> Bool {
        PlanGrammar.coordinateRange(side: s).contains { fits(x: x, y: $0, side: s) }
    }

    func anyPlace(side s: Int) -> Bool {
        PlanGrammar.coordinateRange(side: s).contains { anyY(x: $0, side: s) }
    }

    /// The words allowed next; numbers are given as their values in `numbers`.
    public func allowed() -> (words: [String], numbers: [Int], end: Bool) {
        switch state {
        case .backgroundKeyword: return (["background"], [], false)
        case .backgroundColour: return (World.backgrounds, [], false)
        case .sizeOrEnd:
            var sizes: [String] = []
            if plan.objects.count < World.maxObjects {
                for (k, s) in World.sizePixels.enumerated() where anyPlace(side: s) { sizes.append(World.sizes[k]) }
            }
            return (sizes, [], !plan.objects.isEmpty)
        case .colour: return (World.colours, [], false)
        case .shape: return (World.shapes, [], false)
        case .at: return (["at"], [], false)
        case .x: return ([], PlanGrammar.coordinateRange(side: pending.side).filter { anyY(x: $0, side: pending.side) }, false)
        case .y: return ([], PlanGrammar.coordinateRange(side: pending.side).filter { fits(x: pending.x, y: $0, side: pending.side) }, false)
        case .end: return ([], [], true)
        }
    }

    /// Advances by one word of text; throws with a message naming the word if it is not allowed.
    public mutating func accept(word: String) throws {
        switch state {
        case .backgroundKeyword:
            guard word == "background" else {
                throw PonderError.badPlan("expected 'background' but found '\(word)'" + PlanGrammar.suggestion(word, among: ["background"]))
            }
            state = .backgroundColour
        case .backgroundColour:
            guard let b = World.backgrounds.firstIndex(of: word) else { throw PlanGrammar.notA(.background, word) }
            plan.background = b
            state = .sizeOrEnd
        case .sizeOrEnd:
            guard plan.objects.count < World.maxObjects else {
                throw PonderError.badPlan("'\(word)': a plan has at most \(World.maxObjects) objects")
            }
            guard let s = World.sizes.firstIndex(of: word) else { throw PlanGrammar.notA(.size, word) }
            pending = Plan.Object(shape: 0, colour: 0, size: s, x: 0, y: 0)
            state = .colour
        case .colour:
            guard let c = World.colours.firstIndex(of: word) else { throw PlanGrammar.notA(.colour, word) }
            pending.colour = c
            state = .shape
        case .shape:
            guard let s = World.shapes.firstIndex(of: word) else { throw PlanGrammar.notA(.shape, word) }
            pending.shape = s
            state = .at
        case .at:
            guard word == "at" else {
                throw PonderError.badPlan("expected 'at' but found '\(word)'" + PlanGrammar.suggestion(word, among: ["at"]))
            }
            state = .x
        case .x:
            let range = PlanGrammar.coordinateRange(side: pending.side)
            guard let x = PlanGrammar.number(word) else { throw PonderError.badPlan("'\(word)' is not a whole-pixel x coordinate (0 to 127)") }
            guard range.contains(x) else {
                throw PonderError.badPlan("x = \(x) puts the \(World.sizes[pending.size]) \(World.shapes[pending.shape]) outside the canvas (allowed \(range.lowerBound) to \(range.upperBound))")
            }
            pending.x = x
            state = .y
        case .y:
            let range = PlanGrammar.coordinateRange(side: pending.side)
            guard let y = PlanGrammar.number(word) else { throw PonderError.badPlan("'\(word)' is not a whole-pixel y coordinate (0 to 127)") }
            guard range.contains(y) else {
                throw PonderError.badPlan("y = \(y) puts the \(World.sizes[pending.size]) \(World.shapes[pending.shape]) outside the canvas (allowed \(range.lowerBound) to \(range.upperBound))")
            }
            guard fits(x: pending.x, y: y, side: pending.side) else {
                throw PonderError.badPlan("the \(World.shapes[pending.shape]) at \(pending.x) \(y) is closer than \(World.gap) px to another object")
            }
            pending.y = y
            plan.objects.append(pending)
            state = plan.objects.count == World.maxObjects ? .end : .sizeOrEnd
        case .end:
            throw PonderError.badPlan("'\(word)': a plan has at most \(World.maxObjects) objects")
        }
    }

    /// "; did you mean 'x'?" when `word` is a near miss of one of `candidates`, else empty.
    static func suggestion(_ word: String, among candidates: [String]) -> String {
        let misses = World.nearMisses(of: word, among: candidates)
        return misses.isEmpty ? "" : "; " + World.didYouMean(misses)
    }

    /// `word` stands where a word of `role` (size, colour, shape or background) must: names
    /// what the word is instead, or its near miss, and the role's words.
    static func notA(_ role: World.Role, _ word: String) -> PonderError {
        let form = "each object is 'size colour shape at x y'"
        let expected = role == .colour ? "an object's colour" : role.name
        let own = World.Role(of: word)
        if own == .shapePlural && role == .shape {
            let k = World.shapePlurals.firstIndex(of: word)!
            return PonderError.badPlan("'\(word)' is plural; a plan names each object on its own line, in the singular ('\(World.shapes[k])')")
        }
        if own != .other && own != role {
            let name = own == .colour ? "an object's colour" : own.name
            return PonderError.badPlan("'\(word)' is \(name), not \(expected) (\(role.listing))" + (role == .background ? "" : "; \(form)"))
        }
        let words: [String]
        switch role {
        case .size: words = World.sizes
        case .colour: words = World.colours
        case .shape: words = World.shapes
        default: words = World.backgrounds
        }
        let misses = World.nearMisses(of: word, among: words)
        let known = misses.isEmpty ? "" : " the plan grammar knows; \(World.didYouMean(misses))"
        return PonderError.badPlan("'\(word)' is not \(expected)\(known) (\(role.listing))" + (role == .size ? "; \(form)" : ""))
    }

    /// A coordinate word: decimal digits without sign or leading zeros, 0 to 127.
    static func number(_ word: String) -> Int? {
        let u = Array(word.utf8)
        guard !u.isEmpty, u.count <= 3, u.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        guard u.count == 1 || u[0] != 48 else { return nil }
        let v = u.reduce(0) { $0 * 10 + Int($1 - 48) }
        return v < World.canvas ? v : nil
    }
}

extension Plan {
    /// Whether this layout alone is correct for `prompt` (docs/world.md, "When an image is
    /// correct for a prompt", with the plan's exact sizes and centres as the found objects):
    /// its objects match the prompt's one to one with the asked shapes, colours, size classes
    /// and regions, every relation holds, and the background is the asked one. The same rule
    /// as `scene_satisfies` in training/ponder_train/language/plan.py (tested against each other).
    public func satisfies(_ prompt: Prompt) -> Bool {
        if let bg = prompt.background, bg != background { return false }
        let n = objects.count
        guard n == prompt.objects.count else { return false }
        func fits(_ want: Prompt.Object, _ o: Object) -> Bool {
            guard o.shape == want.shape else { return false }
            if let c = want.colour, c != o.colour { return false }
            if let s = want.size, s != o.size { return false }
            if let r = want.region {
                let cell = World.regions[r]
                if World.third(Double(o.x)) != cell.column || World.third(Double(o.y)) != cell.row { return false }
            }
            return true
        }
        // Depth-first over assignments (at most 4! = 24): prompt object i ↦ plan object match[i].
        var match = [Int](repeating: -1, count: n), used = [Bool](repeating: false, count: n)
        func assign(_ i: Int) -> Bool {
            if i == n {
                return prompt.relations.allSatisfy { r in
                    let a = objects[match[r.subject]], b = objects[match[r.target]]
                    return World.holds(r.relation, ax: Double(a.x), ay: Double(a.y), bx: Double(b.x), by: Double(b.y))
                }
            }
            for j in 0..<n where !used[j] && fits(prompt.objects[i], objects[j]) {
                used[j] = true
                match[i] = j
                if assign(i + 1) { return true }
                used[j] = false
            }
            return false
        }
        return assign(0)
    }
}

extension Plan {
    /// A prompt this plan satisfies (`satisfies`): its objects by size, colour and shape, alike
    /// ones counted in one phrase ("two small red circles"), joined by "and", then the
    /// background when it is not white. Images are drawn under a prompt as well as a plan, so
    /// this is the prompt for a plan given without one. Throws `badPlan` for a plan no text
    /// form can hold (built in code with no objects, too many, or words out of range).
    public func prompt() throws -> Prompt {
        guard (1...World.maxObjects).contains(objects.count), World.backgrounds.indices.contains(background),
              objects.allSatisfy({ World.shapes.indices.contains($0.shape) && World.colours.indices.contains($0.colour)
                  && World.sizes.indices.contains($0.size) }) else {
            throw PonderError.badPlan("the plan has no prompt: it needs 1 to \(World.maxObjects) objects of the world's sizes, colours and shapes")
        }
        var kinds: [(object: Object, count: Int)] = []
        for o in objects {
            if let k = kinds.firstIndex(where: { $0.object.size == o.size && $0.object.colour == o.colour && $0.object.shape == o.shape }) {
                kinds[k].count += 1
            } else {
                kinds.append((o, 1))
            }
        }
        let phrases = kinds.map { kind -> String in
            let o = kind.object
            let shape = kind.count == 1 ? World.shapes[o.shape] : World.shapePlurals[o.shape]
            let description = "\(World.sizes[o.size]) \(World.colours[o.colour]) \(shape)"
            // The description starts with a size, never a vowel: the article is "a".
            let count = kind.count == 1 ? "a" : ["two", "three", "four"][kind.count - 2]
            return count + " " + description
        }
        var text = phrases.joined(separator: " and ")
        if background != 0 { text += " on a \(World.backgrounds[background]) background" }
        return try Prompt(text)
    }
}
