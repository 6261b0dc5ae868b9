import CPonder
import PonderCore
#if canImport(Glibc)
import Glibc
#endif

// The C ABI of include/ponder.h: a thin layer that checks pointers, converts types and
// turns thrown PonderErrors into statuses and messages. All behaviour lives in PonderCore.

final class ModelBox {
    let model: Model
    init(_ model: Model) { self.model = model }
}

final class SessionBox {
    let session: Session
    /// Which thread is inside a call on this session (withSession).
    let inUse = UseFlag()
    var lastError: UnsafeMutablePointer<CChar>?
    var planText: UnsafeMutablePointer<CChar>?
    init(_ session: Session) { self.session = session }
    deinit {
        free(lastError)
        free(planText)
    }

    func setError(_ message: String) {
        free(lastError)
        lastError = strdup(message)
    }

    func setPlanText(_ text: String?) {
        free(planText)
        planText = text.flatMap { strdup($0) }
    }
}

// MARK: - Errors

/// Per-thread storage for ponder_last_error(); the destructor frees each thread's message.
private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

private let emptyMessage: UnsafeMutablePointer<CChar> = strdup("")!

private func setThreadError(_ message: String) {
    free(pthread_getspecific(errorKey))
    pthread_setspecific(errorKey, strdup(message))
}

private func status(_ kind: PonderError.Kind) -> ponder_status {
    ponder_status(rawValue: UInt32(kind.rawValue))
}

private let ok = ponder_status(rawValue: 0)

/// Runs `body`, mapping a thrown error to its status and recording the message.
private func guarded(_ box: SessionBox? = nil, _ body: () throws -> Void) -> ponder_status {
    do {
        try body()
        return ok
    } catch let e as PonderError {
        setThreadError(e.message)
        box?.setError(e.message)
        return status(e.kind)
    } catch {
        let message = PonderError.visible("unexpected error: \(error)")
        setThreadError(message)
        box?.setError(message)
        return status(.internal)
    }
}

private func fail(_ kind: PonderError.Kind, _ message: String) -> ponder_status {
    setThreadError(message)
    return status(kind)
}

private func string(_ p: UnsafePointer<CChar>, _ what: String, limit: Int) throws -> String {
    // Measure without reading past `limit` bytes, so a huge or unterminated input is refused
    // before it is copied.
    let n = strnlen(p, limit + 1)
    guard n <= limit else { throw PonderError(.invalidArgument, "\(what) is longer than \(limit) bytes") }
    let bytes = UnsafeRawBufferPointer(start: p, count: n)
    guard let s = String(validating: bytes, as: UTF8.self) else {
        throw PonderError(.invalidArgument, "\(what) is not valid UTF-8")
    }
    return s
}

/// A size_t from C, which Swift sees as Int: a value of 2^63 or more arrives negative.
/// Such a size claims more memory than exists, so it is an error, never a trap.
private func checkedSize(_ n: Int, _ what: String) throws -> Int {
    guard n >= 0 else {
        throw PonderError(.invalidArgument, "\(what) is \(UInt(bitPattern: n)), more than any buffer can hold")
    }
    return n
}

/// The one way into a session: refuses a call while another thread is inside one on the same
/// session (the message goes to that thread's ponder_last_error only, since the session's
/// own message belongs to the thread using it), and refuses calls that change the session
/// from inside its own progress callback. `reads` marks calls that only read it.
private func withSession(_ session: OpaquePointer?, _ name: String, reads: Bool = false,
                         _ body: (SessionBox) throws -> Void) -> ponder_status {
    guard let session else { return fail(.invalidArgument, "\(name): session is NULL") }
    let box = sessionBox(session)
    switch box.inUse.enter() {
    case .busy:
        return fail(.wrongState, "\(name): the session is in use by another thread (a session takes one call at a time)")
    case .reentered:
        guard reads else {
            return fail(.wrongState, "\(name): cannot be called on a session from inside its own progress callback "
                        + "(ponder_decode, ponder_write_png, ponder_get_tokens, ponder_get_plan, ponder_get_check_stats and ponder_get_plan_stats can)")
        }
        return guarded(box) { try body(box) }
    case .entered:
        defer { box.inUse.leave() }
        return guarded(box) { try body(box) }
    }
}

private func modelBox(_ p: OpaquePointer) -> ModelBox {
    Unmanaged<ModelBox>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

private func sessionBox(_ p: OpaquePointer) -> SessionBox {
    Unmanaged<SessionBox>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

// MARK: - General

/// PONDER_VERSION from the header, kept for the process's life as the static string it promises.
private let versionText: UnsafePointer<CChar> = UnsafePointer(strdup(PONDER_VERSION)!)

@_cdecl("ponder_version")
public func ponder_version() -> UnsafePointer<CChar> { versionText }

@_cdecl("ponder_api_version")
public func ponder_api_version() -> Int32 { Int32(PONDER_API_VERSION) }

@_cdecl("ponder_status_string")
public func ponder_status_string(_ s: ponder_status) -> UnsafePointer<CChar> {
    let name: StaticString = s.rawValue == 0 ? "ok"
        : Int32(exactly: s.rawValue).flatMap(PonderError.Kind.init(rawValue:))?.name ?? "unknown status"
    return UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("ponder_last_error")
public func ponder_last_error() -> UnsafePointer<CChar> {
    if let p = pthread_getspecific(errorKey) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
    return UnsafePointer(emptyMessage)
}

@_cdecl("ponder_free")
public func ponder_free(_ p: UnsafeMutableRawPointer?) {
    free(p)
}

// MARK: - Models

@_cdecl("ponder_model_load")
public func ponder_model_load(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> ponder_status {
    guard let out else { return fail(.invalidArgument, "ponder_model_load: out_model is NULL") }
    out.pointee = nil
    guard let path else { return fail(.invalidArgument, "ponder_model_load: path is NULL") }
    return guarded {
        let p = try string(path, "model path", limit: 4096)
        let model = try Model(path: p)
        out.pointee = OpaquePointer(Unmanaged.passRetained(ModelBox(model)).toOpaque())
    }
}

@_cdecl("ponder_model_free")
public func ponder_model_free(_ model: OpaquePointer?) {
    guard let model else { return }
    Unmanaged<ModelBox>.fromOpaque(UnsafeRawPointer(model)).release()
}

@_cdecl("ponder_model_get_info")
public func ponder_model_get_info(_ model: OpaquePointer?, _ out: UnsafeMutablePointer<ponder_model_info>?) -> ponder_status {
    guard let model else { return fail(.invalidArgument, "ponder_model_get_info: model is NULL") }
    guard let out else { return fail(.invalidArgument, "ponder_model_get_info: out_info is NULL") }
    let m = modelBox(model).model
    let hp = m.hyperParameters
    out.pointee = ponder_model_info(
        image_width: Int32(hp.imageWidth), image_height: Int32(hp.imageHeight),
        grid_width: Int32(hp.gridWidth), grid_height: Int32(hp.gridHeight),
        codebook_size: Int32(hp.codebookSize), vocab_size: Int32(hp.vocabSize),
        context_length: Int32(hp.contextLength), embedding_length: Int32(hp.dim),
        layer_count: Int32(hp.layers), head_count: Int32(hp.heads),
        parameter_count: Int64(m.parameterCount), default_cfg_scale: hp.defaultCFGScale,
        can_read_images: m.canReadImages ? 1 : 0)
    return ok
}

// MARK: - Sessions

@_cdecl("ponder_session_default_params")
public func ponder_session_default_params() -> ponder_session_params {
    let d = SessionParameters()
    return ponder_session_params(seed: d.seed, temperature: d.temperature, top_k: Int32(d.topK), top_p: d.topP,
                                 cfg_scale: -1, think: d.think ? 1 : 0, n_threads: Int32(d.threads),
                                 plan_attempts: Int32(d.planAttempts), check_attempts: Int32(d.checkAttempts),
                                 draft_tokens: Int32(d.draftTokens))
}

@_cdecl("ponder_session_create")
public func ponder_session_create(_ model: OpaquePointer?, _ params: UnsafePointer<ponder_session_params>?,
                                  _ out: UnsafeMutablePointer<OpaquePointer?>?) -> ponder_status {
    guard let out else { return fail(.invalidArgument, "ponder_session_create: out_session is NULL") }
    out.pointee = nil
    guard let model else { return fail(.invalidArgument, "ponder_session_create: model is NULL") }
    let c = params?.pointee ?? ponder_session_default_params()
    return guarded {
        guard c.think == 0 || c.think == 1 else { throw PonderError(.invalidArgument, "think must be 0 or 1, not \(c.think)") }
        var p = SessionParameters()
        p.seed = c.seed
        p.temperature = c.temperature
        p.topK = Int(c.top_k)
        p.topP = c.top_p
        p.cfgScale = c.cfg_scale < 0 ? nil : c.cfg_scale
        if c.cfg_scale.isNaN { throw PonderError(.invalidArgument, "cfg_scale is NaN") }
        p.think = c.think == 1
        p.threads = Int(c.n_threads)
        p.planAttempts = Int(c.plan_attempts)
        p.checkAttempts = Int(c.check_attempts)
        p.draftTokens = Int(c.draft_tokens)
        let session = try Session(model: modelBox(model).model, parameters: p)
        out.pointee = OpaquePointer(Unmanaged.passRetained(SessionBox(session)).toOpaque())
    }
}

@_cdecl("ponder_session_free")
public func ponder_session_free(_ session: OpaquePointer?) {
    guard let session else { return }
    // Freeing a session another thread is drawing on (or from inside its own callback) would
    // pull it from under that call: it is left alone, and the reason recorded.
    guard case .entered = sessionBox(session).inUse.enter() else {
        setThreadError("ponder_session_free: the session is inside a call (another thread's, or this one's progress callback); not freed")
        return
    }
    Unmanaged<SessionBox>.fromOpaque(UnsafeRawPointer(session)).release()
}

private let sessionInUseMessage: UnsafeMutablePointer<CChar> =
    strdup("the session is in use by another thread; its message belongs to that thread")!

@_cdecl("ponder_session_last_error")
public func ponder_session_last_error(_ session: OpaquePointer?) -> UnsafePointer<CChar> {
    guard let session else { return UnsafePointer(emptyMessage) }
    let box = sessionBox(session)
    if box.inUse.heldByAnotherThread { return UnsafePointer(sessionInUseMessage) }
    guard let e = box.lastError else { return UnsafePointer(emptyMessage) }
    return UnsafePointer(e)
}

// MARK: - Thinking

private func plan(_ box: SessionBox, _ prompt: UnsafePointer<CChar>?, _ name: String) throws {
    guard let prompt else { throw PonderError(.invalidArgument, "\(name): prompt is NULL") }
    box.setPlanText(nil)
    let text = try string(prompt, "prompt", limit: Prompt.maxBytes)
    let plan = try box.session.plan(prompt: text)
    box.setPlanText(plan?.text)
}

@_cdecl("ponder_plan")
public func ponder_plan(_ session: OpaquePointer?, _ prompt: UnsafePointer<CChar>?) -> ponder_status {
    withSession(session, "ponder_plan") { try plan($0, prompt, "ponder_plan") }
}

@_cdecl("ponder_get_plan")
public func ponder_get_plan(_ session: OpaquePointer?) -> UnsafePointer<CChar>? {
    var text: UnsafeMutablePointer<CChar>?
    guard withSession(session, "ponder_get_plan", reads: true, { text = $0.planText }) == ok else { return nil }
    return text.map { UnsafePointer($0) }
}

@_cdecl("ponder_set_plan")
public func ponder_set_plan(_ session: OpaquePointer?, _ plan: UnsafePointer<CChar>?) -> ponder_status {
    withSession(session, "ponder_set_plan") { box in
        guard let plan else { throw PonderError(.invalidArgument, "ponder_set_plan: plan is NULL") }
        let text = try string(plan, "plan", limit: Plan.maxBytes)
        try box.session.setPlan(text)
        box.setPlanText(box.session.plan?.text)
    }
}

// MARK: - Drawing

@_cdecl("ponder_step")
public func ponder_step(_ session: OpaquePointer?, _ maxTokens: Int32, _ outDone: UnsafeMutablePointer<Int32>?,
                        _ outRemaining: UnsafeMutablePointer<Int32>?) -> ponder_status {
    withSession(session, "ponder_step") { box in
        let r = try box.session.step(Int(maxTokens))
        outDone?.pointee = Int32(r.done)
        outRemaining?.pointee = Int32(r.remaining)
    }
}

// MARK: - Drawing with progress

private func draw(_ box: SessionBox, _ callback: ponder_progress_callback?, _ userData: UnsafeMutableRawPointer?) throws {
    let s = box.session
    let finished = try s.draw { done, total in callback?(Int32(done), Int32(total), userData) ?? true }
    guard finished else {
        throw PonderError(.cancelled, "drawing stopped by the progress callback after \(s.codes.count) of \(s.totalTokens) tokens")
    }
}

@_cdecl("ponder_draw")
public func ponder_draw(_ session: OpaquePointer?, _ callback: ponder_progress_callback?,
                        _ userData: UnsafeMutableRawPointer?) -> ponder_status {
    withSession(session, "ponder_draw") { try draw($0, callback, userData) }
}

@_cdecl("ponder_generate")
public func ponder_generate(_ session: OpaquePointer?, _ prompt: UnsafePointer<CChar>?, _ callback: ponder_progress_callback?,
                            _ userData: UnsafeMutableRawPointer?) -> ponder_status {
    withSession(session, "ponder_generate") { box in
        try plan(box, prompt, "ponder_generate")
        try draw(box, callback, userData)
    }
}

@_cdecl("ponder_get_tokens")
public func ponder_get_tokens(_ session: OpaquePointer?, _ outCodes: UnsafeMutablePointer<Int32>?, _ capacity: Int,
                              _ outCount: UnsafeMutablePointer<Int>?) -> ponder_status {
    withSession(session, "ponder_get_tokens", reads: true) { box in
        guard let outCount else { throw PonderError(.invalidArgument, "ponder_get_tokens: out_count is NULL") }
        let capacity = try checkedSize(capacity, "ponder_get_tokens: capacity")
        let codes = box.session.codes
        outCount.pointee = codes.count
        guard let outCodes else { return }
        guard capacity >= codes.count else {
            throw PonderError(.bufferTooSmall, "ponder_get_tokens: room for \(capacity) codes, \(codes.count) needed")
        }
        for (i, c) in codes.enumerated() { outCodes[i] = c }
    }
}

@_cdecl("ponder_decode")
public func ponder_decode(_ session: OpaquePointer?, _ rgb: UnsafeMutablePointer<UInt8>?, _ size: Int) -> ponder_status {
    withSession(session, "ponder_decode", reads: true) { box in
        guard let rgb else { throw PonderError(.invalidArgument, "ponder_decode: rgb is NULL") }
        try box.session.decode(into: UnsafeMutableRawBufferPointer(start: rgb, count: try checkedSize(size, "ponder_decode: rgb_size")))
    }
}

@_cdecl("ponder_write_png")
public func ponder_write_png(_ session: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> ponder_status {
    withSession(session, "ponder_write_png", reads: true) { box in
        guard let path else { throw PonderError(.invalidArgument, "ponder_write_png: path is NULL") }
        let p = try string(path, "path", limit: 4096)
        let s = box.session
        let rgb = try s.decode()
        try rgb.withUnsafeBytes { try PNGWriter.write(rgb: $0, width: s.imageWidth, height: s.imageHeight, path: p) }
    }
}

// MARK: - Raw evaluation

@_cdecl("ponder_eval")
public func ponder_eval(_ session: OpaquePointer?, _ tokens: UnsafePointer<Int32>?, _ count: Int, _ past: Int,
                        _ logits: UnsafeMutablePointer<Float>?, _ logitsSize: Int) -> ponder_status {
    withSession(session, "ponder_eval") { box in
        guard let tokens else { throw PonderError(.invalidArgument, "ponder_eval: tokens is NULL") }
        guard count >= 0, count <= 1 << 20, past >= 0 else { throw PonderError(.invalidArgument, "ponder_eval: bad n_tokens or n_past") }
        let logitsSize = try checkedSize(logitsSize, "ponder_eval: logits_size")
        let ids = Array(UnsafeBufferPointer(start: tokens, count: count))
        try box.session.evaluate(tokens: ids, keep: past,
                                 logits: UnsafeMutableBufferPointer(start: logits, count: logits == nil ? 0 : logitsSize))
    }
}

// MARK: - PNG

@_cdecl("ponder_encode_png")
public func ponder_encode_png(_ rgb: UnsafePointer<UInt8>?, _ size: Int, _ width: Int32, _ height: Int32,
                              _ outPNG: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
                              _ outSize: UnsafeMutablePointer<Int>?) -> ponder_status {
    guarded {
        guard let outPNG, let outSize else { throw PonderError(.invalidArgument, "ponder_encode_png: out_png and out_size must not be NULL") }
        outPNG.pointee = nil
        outSize.pointee = 0
        guard let rgb else { throw PonderError(.invalidArgument, "ponder_encode_png: rgb is NULL") }
        let bytes = try PNGWriter.encode(rgb: UnsafeRawBufferPointer(start: rgb, count: try checkedSize(size, "ponder_encode_png: rgb_size")),
                                         width: Int(width), height: Int(height))
        guard let buffer = malloc(max(bytes.count, 1)) else { throw PonderError(.outOfMemory, "cannot allocate \(bytes.count) bytes") }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        outPNG.pointee = buffer.assumingMemoryBound(to: UInt8.self)
        outSize.pointee = bytes.count
    }
}

@_cdecl("ponder_write_png_rgb")
public func ponder_write_png_rgb(_ rgb: UnsafePointer<UInt8>?, _ size: Int, _ width: Int32, _ height: Int32,
                                 _ path: UnsafePointer<CChar>?) -> ponder_status {
    guarded {
        guard let rgb else { throw PonderError(.invalidArgument, "ponder_write_png_rgb: rgb is NULL") }
        guard let path else { throw PonderError(.invalidArgument, "ponder_write_png_rgb: path is NULL") }
        let p = try string(path, "path", limit: 4096)
        try PNGWriter.write(rgb: UnsafeRawBufferPointer(start: rgb, count: try checkedSize(size, "ponder_write_png_rgb: rgb_size")),
                            width: Int(width), height: Int(height), path: p)
    }
}

@_cdecl("ponder_get_check_stats")
public func ponder_get_check_stats(_ session: OpaquePointer?, _ outChecks: UnsafeMutablePointer<Int32>?,
                                   _ outRedraws: UnsafeMutablePointer<Int32>?) -> ponder_status {
    withSession(session, "ponder_get_check_stats", reads: true) { box in
        outChecks?.pointee = Int32(box.session.checksUsed)
        outRedraws?.pointee = Int32(box.session.redrawsUsed)
    }
}

@_cdecl("ponder_get_plan_stats")
public func ponder_get_plan_stats(_ session: OpaquePointer?, _ outAttempts: UnsafeMutablePointer<Int32>?,
                                  _ outSatisfied: UnsafeMutablePointer<Int32>?) -> ponder_status {
    withSession(session, "ponder_get_plan_stats", reads: true) { box in
        outAttempts?.pointee = Int32(box.session.planAttemptsUsed)
        outSatisfied?.pointee = box.session.planSatisfiesPrompt.map { $0 ? 1 : 0 } ?? -1
    }
}

// MARK: - Reading images

private func setImage(_ box: SessionBox, _ image: RGBImage) throws {
    try box.session.setImage(image)  // a failure changes nothing
    box.setPlanText(nil)
}

@_cdecl("ponder_set_image")
public func ponder_set_image(_ session: OpaquePointer?, _ rgb: UnsafePointer<UInt8>?, _ size: Int,
                             _ width: Int32, _ height: Int32) -> ponder_status {
    withSession(session, "ponder_set_image") { box in
        guard let rgb else { throw PonderError(.invalidArgument, "ponder_set_image: rgb is NULL") }
        let n = try checkedSize(size, "ponder_set_image: rgb_size")
        try setImage(box, RGBImage(rgb: UnsafeRawBufferPointer(start: rgb, count: n), width: Int(width), height: Int(height)))
    }
}

@_cdecl("ponder_set_image_png")
public func ponder_set_image_png(_ session: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> ponder_status {
    withSession(session, "ponder_set_image_png") { box in
        guard let path else { throw PonderError(.invalidArgument, "ponder_set_image_png: path is NULL") }
        try setImage(box, PNGReader.read(path: string(path, "path", limit: 4096)))
    }
}

@_cdecl("ponder_set_image_png_memory")
public func ponder_set_image_png_memory(_ session: OpaquePointer?, _ png: UnsafePointer<UInt8>?, _ size: Int) -> ponder_status {
    withSession(session, "ponder_set_image_png_memory") { box in
        guard let png else { throw PonderError(.invalidArgument, "ponder_set_image_png_memory: png is NULL") }
        let n = try checkedSize(size, "ponder_set_image_png_memory: png_size")
        try setImage(box, PNGReader.decode(UnsafeRawBufferPointer(start: png, count: n)))
    }
}

@_cdecl("ponder_describe")
public func ponder_describe(_ session: OpaquePointer?) -> ponder_status {
    withSession(session, "ponder_describe") { box in
        box.setPlanText(try box.session.describe().text)
    }
}

/// The C side of ponder_read_png*: checks the out pointers, then hands `read`'s pixels to
/// the caller in a malloc'd buffer (freed with ponder_free).
private func readPixels(_ name: String, _ outRGB: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
                        _ outWidth: UnsafeMutablePointer<Int32>?, _ outHeight: UnsafeMutablePointer<Int32>?,
                        _ read: () throws -> RGBImage) -> ponder_status {
    guarded {
        guard let outRGB, let outWidth, let outHeight else {
            throw PonderError(.invalidArgument, "\(name): out_rgb, out_width and out_height must not be NULL")
        }
        outRGB.pointee = nil
        let image = try read()
        guard let buffer = malloc(max(image.pixels.count, 1)) else {
            throw PonderError(.outOfMemory, "\(name): cannot allocate \(image.pixels.count) bytes")
        }
        image.pixels.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        outRGB.pointee = buffer.assumingMemoryBound(to: UInt8.self)
        outWidth.pointee = Int32(image.width)
        outHeight.pointee = Int32(image.height)
    }
}

@_cdecl("ponder_read_png")
public func ponder_read_png(_ path: UnsafePointer<CChar>?, _ outRGB: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
                            _ outWidth: UnsafeMutablePointer<Int32>?, _ outHeight: UnsafeMutablePointer<Int32>?) -> ponder_status {
    readPixels("ponder_read_png", outRGB, outWidth, outHeight) {
        guard let path else { throw PonderError(.invalidArgument, "ponder_read_png: path is NULL") }
        return try PNGReader.read(path: string(path, "path", limit: 4096))
    }
}

@_cdecl("ponder_read_png_memory")
public func ponder_read_png_memory(_ png: UnsafePointer<UInt8>?, _ size: Int,
                                   _ outRGB: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
                                   _ outWidth: UnsafeMutablePointer<Int32>?, _ outHeight: UnsafeMutablePointer<Int32>?) -> ponder_status {
    readPixels("ponder_read_png_memory", outRGB, outWidth, outHeight) {
        guard let png else { throw PonderError(.invalidArgument, "ponder_read_png_memory: png is NULL") }
        let n = try checkedSize(size, "ponder_read_png_memory: png_size")
        return try PNGReader.decode(UnsafeRawBufferPointer(start: png, count: n))
    }
}

// MARK: - Editing a picture

/// Runs an edit on the session's canvas and publishes the new plan (a failed edit leaves the
/// session holding its input: Session.draw).
private func edit(_ box: SessionBox, _ body: (Session, Canvas) throws -> Canvas) throws {
    _ = try body(box.session, try box.session.currentCanvas())
    box.setPlanText(box.session.plan?.text)
}

@_cdecl("ponder_set_canvas_plan")
public func ponder_set_canvas_plan(_ session: OpaquePointer?, _ plan: UnsafePointer<CChar>?) -> ponder_status {
    withSession(session, "ponder_set_canvas_plan") { box in
        guard let plan else { throw PonderError(.invalidArgument, "ponder_set_canvas_plan: plan is NULL") }
        let parsed = try Canvas.plan(text: string(plan, "plan", limit: Plan.maxBytes))
        try box.session.setCanvasPlan(parsed)
        box.setPlanText(parsed.text)
    }
}

@_cdecl("ponder_edit")
public func ponder_edit(_ session: OpaquePointer?, _ plan: UnsafePointer<CChar>?) -> ponder_status {
    withSession(session, "ponder_edit") { box in
        guard let plan else { throw PonderError(.invalidArgument, "ponder_edit: plan is NULL") }
        let parsed = try Canvas.plan(text: string(plan, "plan", limit: Plan.maxBytes))
        try edit(box) { s, canvas in try s.edit(canvas, plan: parsed) }
    }
}

@_cdecl("ponder_redraw_region")
public func ponder_redraw_region(_ session: OpaquePointer?, _ x0: Int32, _ y0: Int32, _ x1: Int32, _ y1: Int32,
                                 _ phrase: UnsafePointer<CChar>?) -> ponder_status {
    withSession(session, "ponder_redraw_region") { box in
        let text = try phrase.map { try string($0, "phrase", limit: Prompt.maxBytes) }
        // Checked before the canvas is made, which may describe the picture.
        let region = try PixelBox(x0: Int(x0), y0: Int(y0), x1: Int(x1), y1: Int(y1)).validated()
        try edit(box) { s, canvas in try s.redraw(canvas, region: region, phrase: text) }
    }
}

@_cdecl("ponder_set_edit_progress")
public func ponder_set_edit_progress(_ session: OpaquePointer?, _ callback: ponder_progress_callback?,
                                     _ userData: UnsafeMutableRawPointer?) -> ponder_status {
    withSession(session, "ponder_set_edit_progress") { box in
        // userData is the caller's, passed through untouched; the closure holds only the pointer.
        let user = UnsafeMutableRawPointer(userData)
        box.session.editProgress = callback.map { cb in { done, total in cb(Int32(done), Int32(total), user) } }
    }
}

@_cdecl("ponder_add")
public func ponder_add(_ session: OpaquePointer?, _ phrase: UnsafePointer<CChar>?) -> ponder_status {
    withSession(session, "ponder_add") { box in
        guard let phrase else { throw PonderError(.invalidArgument, "ponder_add: phrase is NULL") }
        let text = try string(phrase, "phrase", limit: Prompt.maxBytes)
        try edit(box) { s, canvas in try s.add(canvas, phrase: text) }
    }
}
