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

private func modelBox(_ p: OpaquePointer) -> ModelBox {
    Unmanaged<ModelBox>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

private func sessionBox(_ p: OpaquePointer) -> SessionBox {
    Unmanaged<SessionBox>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
}

// MARK: - General

@_cdecl("ponder_status_string")
public func ponder_status_string(_ s: ponder_status) -> UnsafePointer<CChar> {
    let names: [StaticString] = ["ok", "invalid argument", "i/o error", "bad model file", "bad prompt",
                                 "bad plan", "wrong call order", "buffer too small", "out of memory", "internal error", "unsupported by the model"]
    let i = Int(s.rawValue)
    let name = i < names.count ? names[i] : "unknown status"
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
                                 plan_attempts: Int32(d.planAttempts), check_attempts: Int32(d.checkAttempts))
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
        let session = try Session(model: modelBox(model).model, parameters: p)
        out.pointee = OpaquePointer(Unmanaged.passRetained(SessionBox(session)).toOpaque())
    }
}

@_cdecl("ponder_session_free")
public func ponder_session_free(_ session: OpaquePointer?) {
    guard let session else { return }
    Unmanaged<SessionBox>.fromOpaque(UnsafeRawPointer(session)).release()
}

@_cdecl("ponder_session_last_error")
public func ponder_session_last_error(_ session: OpaquePointer?) -> UnsafePointer<CChar> {
    guard let session, let e = sessionBox(session).lastError else { return UnsafePointer(emptyMessage) }
    return UnsafePointer(e)
}

// MARK: - Thinking

@_cdecl("ponder_plan")
public func ponder_plan(_ session: OpaquePointer?, _ prompt: UnsafePointer<CChar>?) -> ponder_status {
    guard let session else { return fail(.invalidArgument, "ponder_plan: session is NULL") }
    let box = sessionBox(session)
    guard let prompt else { return guarded(box) { throw PonderError(.invalidArgument, "ponder_plan: prompt is NULL") } }
    return guarded(box) {
        box.setPlanText(nil)
        let text = try string(prompt, "prompt", limit: Prompt.maxBytes)
        let plan = try box.session.plan(prompt: text)
        box.setPlanText(plan?.text)
    }
}

@_cdecl("ponder_get_plan")
public func ponder_get_plan(_ session: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let session else {
        setThreadError("ponder_get_plan: session is NULL")
        return nil
    }
    return sessionBox(session).planText.map { UnsafePointer($0) }
}

@_cdecl("ponder_set_plan")
public func ponder_set_plan(_ session: OpaquePointer?, _ plan: UnsafePointer<CChar>?) -> ponder_status {
    guard let session else { return fail(.invalidArgument, "ponder_set_plan: session is NULL") }
    let box = sessionBox(session)
    return guarded(box) {
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
    guard let session else { return fail(.invalidArgument, "ponder_step: session is NULL") }
    let box = sessionBox(session)
    return guarded(box) {
        let r = try box.session.step(Int(maxTokens))
        outDone?.pointee = Int32(r.done)
        outRemaining?.pointee = Int32(r.remaining)
    }
}

@_cdecl("ponder_get_tokens")
public func ponder_get_tokens(_ session: OpaquePointer?, _ outCodes: UnsafeMutablePointer<Int32>?, _ capacity: Int,
                              _ outCount: UnsafeMutablePointer<Int>?) -> ponder_status {
    guard let session else { return fail(.invalidArgument, "ponder_get_tokens: session is NULL") }
    let box = sessionBox(session)
    return guarded(box) {
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
    guard let session else { return fail(.invalidArgument, "ponder_decode: session is NULL") }
    let box = sessionBox(session)
    return guarded(box) {
        guard let rgb else { throw PonderError(.invalidArgument, "ponder_decode: rgb is NULL") }
        try box.session.decode(into: UnsafeMutableRawBufferPointer(start: rgb, count: try checkedSize(size, "ponder_decode: rgb_size")))
    }
}

@_cdecl("ponder_write_png")
public func ponder_write_png(_ session: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> ponder_status {
    guard let session else { return fail(.invalidArgument, "ponder_write_png: session is NULL") }
    let box = sessionBox(session)
    return guarded(box) {
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
    guard let session else { return fail(.invalidArgument, "ponder_eval: session is NULL") }
    let box = sessionBox(session)
    return guarded(box) {
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
    guard let session else { return fail(.invalidArgument, "ponder_get_check_stats: session is NULL") }
    let s = sessionBox(session).session
    outChecks?.pointee = Int32(s.checksUsed)
    outRedraws?.pointee = Int32(s.redrawsUsed)
    return ok
}

// MARK: - Reading images

private func setImage(_ box: SessionBox, _ image: RGBImage) throws {
    try box.session.setImage(image)  // a failure changes nothing
    box.setPlanText(nil)
}

@_cdecl("ponder_set_image")
public func ponder_set_image(_ session: OpaquePointer?, _ rgb: UnsafePointer<UInt8>?, _ size: Int,
                             _ width: Int32, _ height: Int32) -> ponder_status {
    guard let session else { return fail(.invalidArgument, "ponder_set_image: session is NULL") }
    let box = sessionBox(session)
    return guarded(box) {
        guard let rgb else { throw PonderError(.invalidArgument, "ponder_set_image: rgb is NULL") }
        let n = try checkedSize(size, "ponder_set_image: rgb_size")
        try setImage(box, RGBImage(rgb: UnsafeRawBufferPointer(start: rgb, count: n), width: Int(width), height: Int(height)))
    }
}

@_cdecl("ponder_set_image_png")
public func ponder_set_image_png(_ session: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> ponder_status {
    guard let session else { return fail(.invalidArgument, "ponder_set_image_png: session is NULL") }
    let box = sessionBox(session)
    return guarded(box) {
        guard let path else { throw PonderError(.invalidArgument, "ponder_set_image_png: path is NULL") }
        try setImage(box, PNGReader.read(path: string(path, "path", limit: 4096)))
    }
}

@_cdecl("ponder_set_image_png_memory")
public func ponder_set_image_png_memory(_ session: OpaquePointer?, _ png: UnsafePointer<UInt8>?, _ size: Int) -> ponder_status {
    guard let session else { return fail(.invalidArgument, "ponder_set_image_png_memory: session is NULL") }
    let box = sessionBox(session)
    return guarded(box) {
        guard let png else { throw PonderError(.invalidArgument, "ponder_set_image_png_memory: png is NULL") }
        let n = try checkedSize(size, "ponder_set_image_png_memory: png_size")
        try setImage(box, PNGReader.decode(UnsafeRawBufferPointer(start: png, count: n)))
    }
}

@_cdecl("ponder_describe")
public func ponder_describe(_ session: OpaquePointer?) -> ponder_status {
    guard let session else { return fail(.invalidArgument, "ponder_describe: session is NULL") }
    let box = sessionBox(session)
    return guarded(box) {
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
