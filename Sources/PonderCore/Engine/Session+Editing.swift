/// Editing a picture (docs/canvas.md): edit by plan, redraw a region (inpainting) and add an
/// element. Each edit works out which image-token cells change, redraws only those (every
/// other cell's code is fed to the model, not sampled), checks what it drew when checked
/// drawing is on, and composites the drawn cells onto the input picture, whose other pixels
/// stay byte for byte.
extension Session {
    /// Pixels by which a new object's place keeps its phrase's region and relation true, and
    /// its box clear of the canvas margin, when there is room: drawn centres land within a
    /// few pixels of planned ones, and objects against the edge are drawn less well
    /// (training/edit_accuracy.py --verbose lists such failures).
    public static let placementSlack = 4

    static let editStream: UInt64 = 0x6564_6974_0000_0000  // "edit"
    static let placeStream: UInt64 = 0x706C_6163_6500_0000  // "place"

    // MARK: Canvases

    /// A canvas from a picture of the model's size: encodes it and, without a plan, describes
    /// it (the plan's background is then read from the border). A plan given is the caller's
    /// word for what the picture holds (docs/plan.md; the background line alone for a picture
    /// with no objects). Becomes the session's canvas.
    public func canvas(image: RGBImage, plan given: Plan? = nil) throws -> Canvas {
        try setImage(image)
        let plan: Plan
        if let given {
            guard given.background == imageBackground else {
                let read = World.backgrounds[imageBackground ?? 0]
                throw PonderError.badPlan("the plan's background is \(World.backgrounds[given.background]), but the picture's border reads \(read): "
                    + "give the plan of the picture as it is (change its background with an edit)")
            }
            plan = given
            self.plan = given
        } else {
            plan = try describe()
        }
        let made = Canvas(image: image, plan: plan, codes: codes)
        canvas = made
        return made
    }

    /// The session's canvas: the last edit's result, else the picture set with setImage (with
    /// the plan set or described for it, else described now), else the finished drawing.
    public func currentCanvas() throws -> Canvas {
        if let canvas { return canvas }
        if let picture {
            let made = Canvas(image: picture, plan: try plan ?? describe(), codes: codes)
            canvas = made
            return made
        }
        guard codes.count == totalTokens else {
            throw PonderError.wrongState(codes.isEmpty ? "no picture to edit: set one (ponder_set_image) or draw one"
                                                        : "the drawing is not finished: \(codes.count) of \(totalTokens) tokens drawn")
        }
        let plan = try self.plan ?? describe()
        let made = Canvas(image: try RGBImage(width: imageWidth, height: imageHeight, pixels: decode()), plan: plan, codes: codes)
        canvas = made
        return made
    }

    /// Gives the session's picture (set with setImage, or the last edit's) the caller's plan,
    /// instead of the one described or drawn for it.
    public func setCanvasPlan(_ plan: Plan) throws {
        guard let image = picture ?? canvas?.image else {
            throw PonderError.wrongState("no picture to give a plan to: set one with setImage (ponder_set_image) first")
        }
        let background = picture != nil ? imageBackground ?? 0 : canvas?.plan.background ?? 0
        guard plan.background == background else {
            throw PonderError.badPlan("the plan's background is \(World.backgrounds[plan.background]), but the picture's is "
                + "\(World.backgrounds[background]): give the plan of the picture as it is (change its background with an edit)")
        }
        self.plan = plan
        canvas = Canvas(image: image, plan: plan, codes: codes)
    }

    /// Makes `canvas` the session's canvas again: undo, or the state before a failed edit.
    public func restore(_ canvas: Canvas) {
        prompt = nil
        planAttemptsUsed = 0
        resetDrawing()
        plan = canvas.plan
        imageBackground = canvas.plan.background
        codes = canvas.codes
        self.canvas = canvas
    }

    // MARK: Edits

    /// Edit by plan: the picture redrawn to `plan`. Cells an object covers before or after a
    /// change (moved, recoloured, resized, removed, added), with redrawMargin cells around,
    /// are redrawn; a background change alone redraws nothing (docs/format.md, "Backgrounds").
    public func edit(_ canvas: Canvas, plan new: Plan) throws -> Canvas {
        var unmatched = new.objects
        var changed: [Plan.Object] = []
        for o in canvas.plan.objects {
            if let k = unmatched.firstIndex(of: o) { unmatched.remove(at: k) } else { changed.append(o) }
        }
        let kept = new.objects.filter { !unmatched.contains($0) }
        changed += unmatched
        return try draw(canvas, as: new, cells: editCells(changed: changed, kept: kept), drawn: unmatched, kept: kept).canvas
    }

    /// Redraws a region (inpainting): the objects whose centres lie in `region` go, and
    /// with a phrase of the prompt language ("a small red star") one new object is planned
    /// inside the region; without one (nil or blank) the region is cleared to the background.
    /// The cells the region touches are redrawn, and those of the objects removed and added
    /// with redrawMargin cells around. Checked, a new object still drawn wrong is planned
    /// again elsewhere in the region (placeAttempts).
    public func redraw(_ canvas: Canvas, region: PixelBox, phrase: String?) throws -> Canvas {
        let box = try region.validated(width: World.canvas, height: World.canvas)
        let kept = canvas.plan.objects.filter { !box.contains(x: $0.x, y: $0.y) }
        let removed = canvas.plan.objects.filter { box.contains(x: $0.x, y: $0.y) }
        let plan = Plan(background: canvas.plan.background, objects: kept)
        guard let phrase, !Session.words(phrase).isEmpty else {
            return try draw(canvas, as: plan, cells: editCells(changed: removed, kept: kept, region: box), drawn: [], kept: kept).canvas
        }
        return try drawPlaced(canvas) { attempt, avoiding in
            let added: Plan.Object?
            do {
                added = try self.place(phrase, into: plan, within: box, attempt: attempt, avoiding: avoiding)
            } catch let e as PonderError where e.message.contains("names no object in the picture") && !removed.isEmpty {
                // The reference may name an object the region removes.
                if (try? PhraseRequest(phrase, picture: canvas.plan)) != nil {
                    throw PonderError.badPrompt("'\(World.words(of: phrase).joined(separator: " "))' places the new object against an object "
                        + "centred in the region \(box), which this redraw removes; name an object outside the region")
                }
                throw e
            }
            guard let added else { return nil }
            return (Plan(background: plan.background, objects: kept + [added]),
                    self.editCells(changed: removed + [added], kept: kept, region: box), added, kept)
        }
    }

    /// Adds one object by a phrase of the prompt language, which may place it against an
    /// object in the picture with "the" ("a red star to the right of the blue circle"). The
    /// model thinks the new object's plan line with the picture's objects fed, under the plan
    /// grammar and the phrase (so the phrase and the gap rules hold by construction); then
    /// only its cells are drawn.
    public func add(_ canvas: Canvas, phrase: String) throws -> Canvas {
        guard !Session.words(phrase).isEmpty else {
            throw PonderError.badPrompt("the phrase is empty: say what to add, e.g. 'a red star to the right of the blue circle'")
        }
        guard canvas.plan.objects.count < World.maxObjects else {
            throw PonderError.badPrompt("the picture already holds \(canvas.plan.objects.count) objects, the most a picture may hold; remove one first")
        }
        return try drawPlaced(canvas) { attempt, avoiding in
            guard let added = try self.place(phrase, into: canvas.plan, within: nil, attempt: attempt, avoiding: avoiding) else { return nil }
            return (Plan(background: canvas.plan.background, objects: canvas.plan.objects + [added]),
                    self.editCells(changed: [added], kept: canvas.plan.objects), added, canvas.plan.objects)
        }
    }

    /// Places tried for a new object (add, and redraw with a phrase) when checked editing
    /// reads it wrong: the model draws some objects badly in one place (beside an object
    /// whose colour or shape it copies, or against the canvas's edge) and well in another,
    /// where redrawing the same cells tends to repeat the mistake (docs/canvas.md).
    public static let placeAttempts = 3

    /// Draws the edit that `plan(attempt, avoiding)` makes (the new plan, the cells to redraw,
    /// the new object, the objects kept), checked; while checking still reads the new object
    /// wrong, the next is planned at least one cell from every place tried, up to
    /// placeAttempts places. nil from `plan` means no other place is left. The result is the
    /// first drawing read right, else the first drawn: the model's own first choice, which on
    /// validation scenes came out right more often than the later place read with the
    /// fewest wrong objects (when every place reads wrong, the reading is often what is
    /// wrong).
    func drawPlaced(_ canvas: Canvas,
                    plan: (_ attempt: Int, _ avoiding: [Plan.Object]) throws -> (Plan, CellMask, Plan.Object, [Plan.Object])?) throws -> Canvas {
        let places = parameters.checkAttempts > 0 && model.vocabulary.describe != nil ? Session.placeAttempts : 1
        var first: (canvas: Canvas, edited: Int)?
        var tried: [Plan.Object] = []
        var checks = 0, redraws = 0
        for attempt in 0..<places {
            guard let (new, cells, added, kept) = try plan(attempt, tried) else { break }
            tried.append(added)
            let made = try draw(canvas, as: new, cells: cells, drawn: [added], kept: kept)
            checks += checksUsed
            redraws += redrawsUsed
            if made.clean {
                first = nil
                break
            }
            if first == nil { first = (made.canvas, editedCells) }
        }
        if let first {
            restore(first.canvas)
            editedCells = first.edited
        }
        checksUsed = checks
        redrawsUsed = redraws
        guard let result = self.canvas else { throw PonderError(.internal, "no place was tried for the new object") }
        return result
    }

    /// The cells an edit redraws: every cell a changed object's box touches (before or after
    /// the change), the cells around them (redrawMargin) and the region's, except cells that
    /// hold part of an object kept as it was. Redrawing part of a kept object would draw it
    /// without the model seeing its cells below and to the right (raster order), and
    /// benchmarked redraws that did were right far less often (docs/canvas.md).
    func editCells(changed: [Plan.Object], kept: [Plan.Object], region: PixelBox? = nil) -> CellMask {
        let hp = model.hyperParameters
        var cells = CellMask(hp), core = CellMask(hp), protected = CellMask(hp)
        for o in changed {
            cells.mark(PixelBox(o), margin: Session.redrawMargin)
            core.mark(PixelBox(o), margin: 0)
        }
        if let region { cells.mark(region, margin: 0) }
        for o in kept { protected.mark(PixelBox(o), margin: 0) }
        cells.subtract(protected)
        cells.formUnion(core)
        return cells
    }

    // MARK: Drawing an edit

    /// Redraws `cells` of the canvas for `plan`, checks them, and composites the result onto
    /// the canvas's picture (moved to the plan's background first if that changed).
    /// A failed edit leaves the session holding the input canvas.
    /// Also says whether checked editing read what it drew right (check(within:); true when
    /// unchecked).
    func draw(_ canvas: Canvas, as plan: Plan, cells: CellMask, drawn: [Plan.Object], kept: [Plan.Object]) throws -> (canvas: Canvas, clean: Bool) {
        do {
            return try drawAnew(canvas, as: plan, cells: cells, drawn: drawn, kept: kept)
        } catch {
            restore(canvas)
            throw error
        }
    }

    private func drawAnew(_ canvas: Canvas, as plan: Plan, cells: CellMask, drawn: [Plan.Object], kept: [Plan.Object]) throws -> (canvas: Canvas, clean: Bool) {
        let hp = model.hyperParameters
        guard canvas.codes.count == hp.imageTokens, canvas.image.width == hp.imageWidth, canvas.image.height == hp.imageHeight else {
            throw PonderError.invalidArgument("the canvas was made for another model (\(canvas.image.width)×\(canvas.image.height), \(canvas.codes.count) codes)")
        }
        var picture = canvas.image.pixels
        if plan.background != canvas.plan.background {
            picture.withUnsafeMutableBufferPointer {
                Background.move($0.baseAddress!, pixels: hp.imageWidth * hp.imageHeight, from: canvas.plan.background, to: plan.background)
            }
        }
        prompt = nil
        planAttemptsUsed = 0
        resetDrawing()
        self.plan = plan
        imageBackground = plan.background
        codes = canvas.codes
        var clean = true
        if !cells.isEmpty {
            // Only the cells of the objects drawn anew (their boxes and redrawMargin cells
            // around) are sampled. The others hold background by the plan: they become what
            // the encoder reads in an empty picture, rather than being left to the sampler,
            // which, drawing in raster order without the kept cells below and to the right,
            // can start an object there that it cannot finish, or go on with a kept object
            // next to them (docs/canvas.md, "Raster order").
            var territory = CellMask(hp)
            for o in drawn { territory.mark(PixelBox(o), margin: Session.redrawMargin) }
            // A model without an encoder has no empty codes: it samples every cell.
            if model.blankCodes == nil {
                guard !plan.objects.isEmpty else {
                    throw PonderError(.unsupported, "this model file has no image encoder ('ponder.encoder.ops'): it cannot clear a picture of every object")
                }
                territory.formUnion(cells)
            }
            let sampled = cells.intersection(territory)
            if sampled.indices.count < cells.indices.count {
                let blank = try blankCodes()
                for i in cells.indices where !territory[i] { codes[i] = blank[i] }
            }
            if !sampled.isEmpty {
                drawContext = try drawingContext(for: plan)
                try redraw(sampled.indices, seed: parameters.seed ^ Session.editStream, progress: editProgress)
                clean = try check(within: sampled)
            }
            // Only the sampled cells are decoded; the cleared ones are the plain background,
            // which decode() leaves around its windows. Decoded, a cleared cell beside a kept
            // object's codes could show a faint fringe of that object's colour. A kept
            // object sharing a cell with a changed one keeps its own pixels.
            picture = cells.composite(try decode(sampled, halo: Session.decodeHalo), over: picture, kept: kept.map { PixelBox($0) })
        }
        let made = Canvas(image: RGBImage(checkedWidth: hp.imageWidth, height: hp.imageHeight, pixels: picture), plan: plan, codes: codes)
        self.canvas = made
        editedCells = cells.indices.count
        return (made, clean)
    }

    /// Cells decoded around an edit's cells. The default model's decoder sees 5.5 cells far;
    /// with 3, the pixels of the cells used differ from a full decode's by 0.1 levels of 255
    /// on average and at most 22 on a few pixels (over every object of three drawings), at
    /// about half a full decode's cost for one medium object; with 2 the worst was 38
    /// (CanvasTests.testWindowedDecode).
    static let decodeHalo = 3

    /// The pixels of the marked cells, on the plan's background: the codes decoded in
    /// windows of cells that hold them with `halo` cells around, one window per group of
    /// cells whose halos overlap (a moved object's old and new places apart); other pixels
    /// are the background.
    func decode(_ cells: CellMask, halo: Int) throws -> [UInt8] {
        let hp = model.hyperParameters
        var windows: [GridWindow] = cells.indices.map { i in
            let gx = i % hp.gridWidth, gy = i / hp.gridWidth
            return GridWindow(x0: max(0, gx - halo), y0: max(0, gy - halo),
                              x1: min(hp.gridWidth, gx + 1 + halo), y1: min(hp.gridHeight, gy + 1 + halo))
        }
        // Merge overlapping windows until none overlap: each marked cell then lies in one
        // window, at least `halo` cells from its edges inside the grid.
        var merging = true
        while merging {
            merging = false
            search: for a in windows.indices {
                for b in windows.indices where b > a && windows[a].overlaps(windows[b]) {
                    windows[a] = windows[a].union(windows[b])
                    windows.remove(at: b)
                    merging = true
                    break search
                }
            }
        }
        var rgb = [UInt8](repeating: 255, count: imageByteCount)
        try rgb.withUnsafeMutableBufferPointer { buffer in
            for window in windows {
                // Only the marked cells' pixels are used: the box holding them.
                var used: GridWindow?
                for i in cells.indices {
                    let cell = GridWindow(x0: i % hp.gridWidth, y0: i / hp.gridWidth, x1: i % hp.gridWidth + 1, y1: i / hp.gridWidth + 1)
                    if window.overlaps(cell) { used = used?.union(cell) ?? cell }
                }
                try model.decoder.decode(codes: codes, window: window, used: used, into: buffer.baseAddress!, pool: pool)
            }
            Background.move(buffer.baseAddress!, pixels: hp.imageWidth * hp.imageHeight, from: 0, to: background)
        }
        return rgb
    }

    /// The codes the encoder gives a picture of the background alone (on white).
    func blankCodes() throws -> [Int32] {
        guard let blank = model.blankCodes else {
            throw PonderError(.unsupported, "this model file has no image encoder ('ponder.encoder.ops'): it cannot clear part of a picture")
        }
        return blank
    }

    /// `<bos> PROMPT <think> PLAN </think> <image>` for a plan with no prompt: PROMPT names
    /// each object ("a large red circle and a small blue star"), as a prompt the plan satisfies.
    func drawingContext(for plan: Plan) throws -> [Int32] {
        let vocab = model.vocabulary
        let prompt = try Prompt(Session.phrases(plan.objects).joined(separator: " and "))
        return [vocab.bos] + (try model.tokens(prompt, onWhite: true)) + [vocab.think]
            + model.tokens(Plan(background: 0, objects: plan.objects)) + [vocab.endThink, vocab.image]
    }

    static func phrases(_ objects: [Plan.Object]) -> [String] {
        objects.map { "a \(World.sizes[$0.size]) \(World.colours[$0.colour]) \(World.shapes[$0.shape])" }
    }

    static func words(_ text: String) -> [String] {
        World.words(of: text).map { $0.lowercased() }
    }

    // MARK: Placing a new object

    /// Plans one new object for `phrase` beside `plan`'s objects: the model writes its plan
    /// line after the picture's (fed, not sampled), each word drawn from the words that keep
    /// the phrase true (shape, colour, size, region, relation), the world's margin and gap
    /// rules, and the object inside `within` when given. `avoiding` holds places already
    /// tried (drawPlaced): the new centre keeps more than checkTolerance from each on some
    /// axis, and nil means no such place is left. `attempt` picks the sampler's stream.
    func place(_ phrase: String, into plan: Plan, within box: PixelBox?, attempt: Int = 0, avoiding: [Plan.Object] = []) throws -> Plan.Object? {
        guard plan.objects.count < World.maxObjects else {
            throw PonderError.badPrompt("no room for '\(phrase)': the picture keeps \(plan.objects.count) objects, the most a picture may hold")
        }
        let request = try PhraseRequest(phrase, picture: plan)
        let want = request.object
        var grammar = PlanGrammar()
        for w in plan.words { try grammar.accept(word: w) }
        // Places that keep the phrase true with `slack` pixels to spare, so that an object
        // drawn a few pixels off its planned centre still keeps it, and keep that much more
        // than the world's margin from the canvas's edge; without slack only when no such
        // place exists.
        var slack = Session.placementSlack
        func allowed(x: Int, y: Int, side s: Int) -> Bool {
            guard grammar.fits(x: x, y: y, side: s) else { return false }
            // The model draws objects against the canvas's edge less well.
            let edge = World.margin + slack
            guard x - s / 2 >= edge, x + s / 2 <= World.canvas - edge, y - s / 2 >= edge, y + s / 2 <= World.canvas - edge else { return false }
            let d = Double(slack)
            if let r = want.region {
                let cell = World.regions[r]
                for (c, want) in [(Double(x), cell.column), (Double(y), cell.row)] {
                    guard World.third(c - d) == want, World.third(c + d) == want else { return false }
                }
            }
            if let (relation, target) = request.relation {
                let shift: (Double, Double) = [(d, 0), (-d, 0), (0, d), (0, -d)][relation.rawValue]
                guard World.holds(relation, ax: Double(x) + shift.0, ay: Double(y) + shift.1,
                                  bx: Double(target.x), by: Double(target.y)) else { return false }
            }
            if let box {
                guard x - s / 2 >= box.x0, x + s / 2 <= box.x1, y - s / 2 >= box.y0, y + s / 2 <= box.y1 else { return false }
            }
            for o in avoiding where abs(o.x - x) <= Session.checkTolerance && abs(o.y - y) <= Session.checkTolerance { return false }
            return true
        }
        func xs(_ s: Int) -> [Int] {
            let range = PlanGrammar.coordinateRange(side: s)
            return range.filter { x in range.contains { allowed(x: x, y: $0, side: s) } }
        }
        let wanted = want.size.map { [$0] } ?? Array(World.sizes.indices)
        var sizes = wanted.filter { !xs(World.sizePixels[$0]).isEmpty }
        if sizes.isEmpty {
            slack = 0
            sizes = wanted.filter { !xs(World.sizePixels[$0]).isEmpty }
        }
        if let box, let smallest = wanted.first.map({ _ in wanted.map { World.sizePixels[$0] }.min()! }),
           box.x1 - box.x0 < smallest || box.y1 - box.y0 < smallest {
            throw PonderError.badPrompt("no room for '\(request.text)': the region \(box) is \(box.x1 - box.x0)×\(box.y1 - box.y0) px, "
                + "and a \(World.sizes[wanted.first { World.sizePixels[$0] == smallest }!]) object needs \(smallest)×\(smallest)")
        }
        guard !sizes.isEmpty else {
            if !avoiding.isEmpty { return nil }
            var reason = "every place breaks the \(World.gap) px gap to an object in the picture or the \(World.margin) px margin"
            if box != nil { reason += ", or leaves the region \(box!)" }
            throw PonderError.badPrompt("no room for '\(request.text)': \(reason)")
        }

        // Think the new line after the picture's plan.
        let vocab = model.vocabulary
        let context = [vocab.bos] + (try model.tokens(request.prompt)) + [vocab.think] + model.tokens(plan)
        try feed(0, context)
        sampler.rng = RandomSource(seed: parameters.seed ^ Session.placeStream ^ UInt64(attempt))
        func pick(_ words: [String]) throws -> String {
            let ids = words.map { vocab.id($0)! }
            let logits = state.logits(of: 0)
            let token = sampler.sample(count: ids.count) { out, values in
                for (i, id) in ids.enumerated() { out[i] = id; values[i] = logits[Int(id)] }
            }
            let word = vocab.words[Int(token)]
            try grammar.accept(word: word)
            try state.append(0, [token])
            return word
        }
        let size = World.sizes.firstIndex(of: try pick(sizes.map { World.sizes[$0] }))!
        let side = World.sizePixels[size]
        let colour = World.colours.firstIndex(of: try pick(want.colour.map { [World.colours[$0]] } ?? World.colours))!
        _ = try pick([World.shapes[want.shape]])
        _ = try pick(["at"])
        let x = Int(try pick(xs(side).map(String.init)))!
        let range = PlanGrammar.coordinateRange(side: side)
        let y = Int(try pick(range.filter { allowed(x: x, y: $0, side: side) }.map(String.init)))!
        return Plan.Object(shape: want.shape, colour: colour, size: size, x: x, y: y)
    }
}

/// A phrase that adds one object to a picture, parsed against the objects already there.
struct PhraseRequest {
    /// The phrase's words, normalised.
    let text: String
    /// What the phrase asks for (shape; colour, size and region where it names them).
    let object: Prompt.Object
    /// A relation to an object of the picture, referred to with "the".
    let relation: (World.Relation, Plan.Object)?
    /// The prompt the new plan line is thought under: one phrase per object in the picture
    /// ("a large red circle"), the phrase, and the picture's background.
    let prompt: Prompt

    init(_ phrase: String, picture plan: Plan) throws {
        var words = Session.words(phrase)
        if let last = words.last, last.hasSuffix(".") { words[words.count - 1] = String(last.dropLast()) }
        text = words.joined(separator: " ")
        // "the …" after a relation names an object in the picture. It is parsed as "a …" to
        // learn what it describes, then looked up among the picture's objects.
        var reference: Int?
        for r in World.Relation.allCases {
            let n = r.words.count
            for k in stride(from: n, to: words.count, by: 1) where words[k] == "the" && Array(words[(k - n)..<k]) == r.words {
                reference = k
            }
        }
        var parsedWords = words
        if let reference { parsedWords[reference] = "a" }
        let parsed: Prompt
        do {
            parsed = try Prompt(parsedWords.joined(separator: " "))
        } catch let rewritten as PonderError {
            // Report the error in the words the caller wrote, unless it is only that "the"
            // names no object of the phrase (the reference is looked up in the picture).
            do { _ = try Prompt(text) } catch let original as PonderError where !original.message.contains("refers to") { throw original }
            throw rewritten
        }
        guard parsed.background == nil else {
            throw PonderError.badPrompt("'\(text)' names a background; a phrase adds an object (change the background in the plan)")
        }
        let expected = reference == nil ? 1 : 2
        guard parsed.objects.count == expected, parsed.relations.count <= 1 else {
            let n = parsed.objects.count - (expected - 1)
            throw PonderError.badPrompt("'\(text)' asks for \(n) objects; a phrase adds one "
                + "(to place it against an object in the picture, name that object with 'the', e.g. 'to the left of the blue circle')")
        }
        object = parsed.objects[0]
        if reference != nil, let placement = parsed.relations.first {
            let want = parsed.objects[1]
            let matches = plan.objects.filter { o in
                o.shape == want.shape && (want.colour == nil || o.colour == want.colour) && (want.size == nil || o.size == want.size)
            }
            let described = "'the \(([want.size.map { World.sizes[$0] }, want.colour.map { World.colours[$0] }, World.shapes[want.shape]] as [String?]).compactMap { $0 }.joined(separator: " "))'"
            let holds = plan.objects.isEmpty ? "it holds no objects" : "it holds " + Session.phrases(plan.objects).joined(separator: ", ")
            guard !matches.isEmpty else {
                throw PonderError.badPrompt("\(described) names no object in the picture (\(holds))")
            }
            guard matches.count == 1 else {
                throw PonderError.badPrompt("\(described) could mean any of \(matches.count) objects in the picture (\(holds)); name its size or colour too")
            }
            relation = (placement.relation, matches[0])
        } else {
            relation = nil
        }
        // The prompt for thinking names every object, so the reference resolves in it too.
        var full = Session.phrases(plan.objects) + [text]
        if plan.background != 0 { full[full.count - 1] += " on a \(World.backgrounds[plan.background]) background" }
        prompt = try Prompt(full.joined(separator: " and "))
    }
}
