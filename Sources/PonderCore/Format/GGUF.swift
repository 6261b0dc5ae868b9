#if canImport(Glibc)
import Glibc
#endif

/// A GGUF (version 3) file, read into memory and checked before use.
///
/// The bytes are read, not mapped from the file: a mapping of a file that is rewritten in
/// place while loaded (`cp new.gguf model.gguf`, a training script exporting to the same
/// path) raises SIGBUS in the host on the next access past the new end, and changes the
/// weights under a running session. A copy read once cannot change. docs/reliability.md,
/// "Model files", has the cost (load time and memory).
///
/// Every count, length, type, offset and size is checked against the file before anything
/// is allocated or read, so a malformed or hostile file is an error, never a trap, an
/// out-of-bounds read or a huge allocation. Specification: docs/format.md.
public final class GGUFFile: @unchecked Sendable {
    public enum ValueType: UInt32 {
        case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array,
             uint64, int64, float64
    }

    public indirect enum Value: Equatable {
        case uint(UInt64)
        case int(Int64)
        case float(Double)
        case bool(Bool)
        case string(String)
        case array(ValueType, [Value])

        public var asInt: Int? {
            switch self {
            case .uint(let v): return v <= UInt64(Int.max) ? Int(v) : nil
            case .int(let v): return Int(v)
            default: return nil
            }
        }
        public var asFloat: Double? {
            switch self {
            case .float(let v): return v
            case .uint(let v): return Double(v)
            case .int(let v): return Double(v)
            default: return nil
            }
        }
        public var asString: String? {
            if case .string(let s) = self { return s }
            return nil
        }
        public var asStrings: [String]? {
            guard case .array(.string, let items) = self else { return nil }
            return items.compactMap { $0.asString }
        }
    }

    /// ggml tensor types this engine reads.
    public enum TensorType: UInt32 {
        case f32 = 0
        case f16 = 1
        case q8_0 = 8

        /// Elements per block and bytes per block.
        var block: (elements: Int, bytes: Int) {
            switch self {
            case .f32: return (1, 4)
            case .f16: return (1, 2)
            case .q8_0: return (32, 34)
            }
        }
    }

    public struct Tensor {
        public let name: String
        /// ggml order: dims[0] is the innermost (contiguous) dimension.
        public let dims: [Int]
        public let type: TensorType
        /// Absolute byte offset in the file and byte size.
        public let offset: Int
        public let byteCount: Int
        public var elementCount: Int { dims.reduce(1, *) }
    }

    public static let magic: UInt32 = 0x4655_4747  // "GGUF" little-endian
    public static let maxDims = 4
    public static let defaultAlignment = 32

    public let path: String
    public let metadata: [String: Value]
    public let tensors: [String: Tensor]
    public let tensorOrder: [String]
    public let base: UnsafeRawPointer
    public let size: Int
    /// How the bytes are held, so deinit knows how to release them: in anonymous pages
    /// (a file read) or from malloc (bytes given in memory).
    private enum Storage { case pages, heap }
    private let storage: Storage

    /// Reads and validates `path`. Throws `PonderError` (.io or .badModel).
    public convenience init(path: String) throws {
        // O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever (it is then
        // refused as not a regular file); it changes nothing for a regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw PonderError(.io, "cannot open model file '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw PonderError(.io, "cannot stat model file '\(path)'")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw PonderError(.io, "model path '\(path)' is not a regular file")
        }
        let size = Int(st.st_size)
        try GGUFFile.checkSize(size, path)
        // Anonymous pages rather than malloc, so evict() can hand back the pages of tensors
        // the engine has copied elsewhere.
        guard let memory = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              memory != MAP_FAILED else {
            throw PonderError(.outOfMemory, "cannot allocate \(size) bytes to read '\(path)'")
        }
        var done = 0
        while done < size {
            let n = pread(fd, memory + done, size - done, off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n < 0 ? String(cString: strerror(errno)) : "the file became shorter while it was read"
                munmap(memory, size)
                throw PonderError(.io, "cannot read model file '\(path)': \(reason)")
            }
            done += n
        }
        mprotect(memory, size, PROT_READ)
        try self.init(path: path, memory: memory, size: size, storage: .pages)
    }

    /// Parses and keeps a copy of GGUF bytes held in memory, for callers that have no file
    /// (the fuzzer's model target, tests). `path` only names the source in messages.
    public convenience init(bytes: UnsafeRawBufferPointer, path: String = "<memory>") throws {
        try GGUFFile.checkSize(bytes.count, path)
        guard let copy = malloc(bytes.count) else {
            throw PonderError(.outOfMemory, "cannot allocate \(bytes.count) bytes for a model")
        }
        copy.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        try self.init(path: path, memory: copy, size: bytes.count, storage: .heap)
    }

    /// Parses `size` bytes at `memory`, which it owns from here on: released by deinit, or
    /// here when they do not parse.
    private init(path: String, memory: UnsafeMutableRawPointer, size: Int, storage: Storage) throws {
        self.path = path
        self.base = UnsafeRawPointer(memory)
        self.size = size
        self.storage = storage
        do {
            let parsed = try GGUFFile.parse(UnsafeRawBufferPointer(start: memory, count: size))
            self.metadata = parsed.metadata
            self.tensors = parsed.tensors
            self.tensorOrder = parsed.order
        } catch {
            GGUFFile.release(memory, size, storage)
            throw error
        }
    }

    private static func checkSize(_ size: Int, _ path: String) throws {
        guard size >= 24 else {
            throw PonderError.badModel("'\(path)' is too small to be a GGUF file (\(size) bytes)")
        }
    }

    private static func release(_ memory: UnsafeMutableRawPointer, _ size: Int, _ storage: Storage) {
        switch storage {
        case .pages: munmap(memory, size)
        case .heap: free(memory)
        }
    }

    /// Parses GGUF bytes held in memory without keeping them. Used by the fuzzer's reader
    /// target and tests.
    public static func validate(_ bytes: UnsafeRawBufferPointer) throws {
        _ = try parse(bytes)
    }

    deinit {
        GGUFFile.release(UnsafeMutableRawPointer(mutating: base), size, storage)
    }

    public func tensor(_ name: String) -> Tensor? { tensors[name] }

    public func data(of tensor: Tensor) -> UnsafeRawPointer { base + tensor.offset }

    /// Hands back to the system the pages that lie wholly inside the `byteCount` bytes at
    /// `start`: a tensor the engine has copied and packed, and never reads here again (the
    /// pages would read as zeros). Bytes given in memory are kept.
    func evict(_ start: UnsafeRawPointer, byteCount: Int) {
        guard storage == .pages else { return }
        let page = max(Int(sysconf(Int32(_SC_PAGESIZE))), 1)
        let from = Int(bitPattern: start), end = from + byteCount
        let first = (from + page - 1) / page * page, last = end / page * page
        if first < last { _ = madvise(UnsafeMutableRawPointer(bitPattern: first), last - first, MADV_DONTNEED) }
    }

    // MARK: - Parsing

    private struct Parsed {
        var metadata: [String: Value] = [:]
        var tensors: [String: Tensor] = [:]
        var order: [String] = []
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer) throws -> Parsed {
        var r = Reader(bytes: bytes)
        let magic = try r.u32("magic")
        guard magic == GGUFFile.magic else {
            throw PonderError.badModel("not a GGUF file: bad magic 0x\(String(magic, radix: 16))")
        }
        let version = try r.u32("version")
        guard version == 3 else {
            throw PonderError.badModel("unsupported GGUF version \(version) (this reader reads version 3)")
        }
        let tensorCount = try r.u64("tensor count")
        let kvCount = try r.u64("metadata count")
        // Each key/value takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info
        // at least 8 + 4 + 8 + 4 + 8. Counts the file cannot hold are lies.
        guard kvCount <= UInt64(r.remaining / 13) else {
            throw PonderError.badModel("metadata count \(kvCount) exceeds what the file can hold")
        }
        guard tensorCount <= UInt64(r.remaining / 32) else {
            throw PonderError.badModel("tensor count \(tensorCount) exceeds what the file can hold")
        }

        var out = Parsed()
        for i in 0..<Int(kvCount) {
            let key = try r.string("metadata key \(i)")
            guard !key.isEmpty else { throw PonderError.badModel("metadata key \(i) is empty") }
            guard out.metadata[key] == nil else {
                throw PonderError.badModel("duplicate metadata key '\(key)'")
            }
            let rawType = try r.u32("type of '\(key)'")
            guard let type = ValueType(rawValue: rawType) else {
                throw PonderError.badModel("metadata '\(key)' has unknown value type \(rawType)")
            }
            out.metadata[key] = try r.value(type, context: key, depth: 0)
        }

        var alignment = GGUFFile.defaultAlignment
        if let a = out.metadata["general.alignment"] {
            guard case .uint(let v) = a, v > 0, v <= 1 << 16, v & (v - 1) == 0 else {
                throw PonderError.badModel("general.alignment must be a power of two up to 65536")
            }
            alignment = Int(v)
        }

        struct Info { let name: String; let dims: [Int]; let type: TensorType; let relOffset: UInt64; let bytes: Int }
        var infos: [Info] = []
        infos.reserveCapacity(Int(tensorCount))
        for i in 0..<Int(tensorCount) {
            let name = try r.string("tensor \(i) name")
            guard !name.isEmpty else { throw PonderError.badModel("tensor \(i) has an empty name") }
            let nDims = try r.u32("dimension count of '\(name)'")
            guard nDims >= 1, nDims <= UInt32(GGUFFile.maxDims) else {
                throw PonderError.badModel("tensor '\(name)' has \(nDims) dimensions (1 to \(GGUFFile.maxDims) allowed)")
            }
            var dims: [Int] = []
            var elements = 1
            for _ in 0..<Int(nDims) {
                let d = try r.u64("dimension of '\(name)'")
                guard d >= 1, d <= UInt64(Int32.max) else {
                    throw PonderError.badModel("tensor '\(name)' has dimension \(d) (must be 1 to 2^31-1)")
                }
                let (m, overflow) = elements.multipliedReportingOverflow(by: Int(d))
                guard !overflow, m <= bytes.count * 32 else {
                    throw PonderError.badModel("tensor '\(name)' has more elements than the file can hold")
                }
                elements = m
                dims.append(Int(d))
            }
            let rawType = try r.u32("type of '\(name)'")
            guard let type = TensorType(rawValue: rawType) else {
                throw PonderError.badModel("tensor '\(name)' has unsupported type \(rawType) (F32, F16 and Q8_0 are read)")
            }
            let block = type.block
            guard dims[0] % block.elements == 0 else {
                throw PonderError.badModel("tensor '\(name)': row length \(dims[0]) is not a multiple of the block size \(block.elements)")
            }
            let byteCount = elements / block.elements * block.bytes
            let relOffset = try r.u64("offset of '\(name)'")
            guard relOffset % UInt64(alignment) == 0 else {
                throw PonderError.badModel("tensor '\(name)' offset \(relOffset) is not aligned to \(alignment)")
            }
            infos.append(Info(name: name, dims: dims, type: type, relOffset: relOffset, bytes: byteCount))
        }

        let headerEnd = r.position
        let dataStart = (headerEnd + alignment - 1) / alignment * alignment
        guard infos.isEmpty || dataStart <= bytes.count else {
            throw PonderError.badModel("file ends before its tensor data section")
        }
        let dataSize = bytes.count - dataStart
        for info in infos {
            guard info.relOffset <= UInt64(dataSize), info.bytes <= dataSize - Int(info.relOffset) else {
                throw PonderError.badModel("tensor '\(info.name)' (\(info.bytes) bytes at data offset \(info.relOffset)) extends past the end of the file (\(dataSize) data bytes)")
            }
            guard out.tensors[info.name] == nil else {
                throw PonderError.badModel("duplicate tensor name '\(info.name)'")
            }
            out.tensors[info.name] = Tensor(name: info.name, dims: info.dims, type: info.type,
                                            offset: dataStart + Int(info.relOffset), byteCount: info.bytes)
            out.order.append(info.name)
        }
        // Tensors must not overlap each other.
        let sorted = out.tensors.values.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw PonderError.badModel("tensors '\(a.name)' and '\(b.name)' overlap")
        }
        return out
    }
}

/// A bounds-checked little-endian cursor over the file bytes.
private struct Reader {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    static let maxArrayDepth = 2

    var remaining: Int { bytes.count - position }

    mutating func take(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else {
            throw PonderError.badModel("file truncated while reading \(what) (needs \(n) bytes at offset \(position), \(remaining) left)")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
        position += n
        return slice
    }

    mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
        let raw = try take(MemoryLayout<T>.size, what)
        return T(littleEndian: raw.loadUnaligned(as: T.self))
    }

    mutating func u32(_ what: String) throws -> UInt32 { try load(UInt32.self, what) }
    mutating func u64(_ what: String) throws -> UInt64 { try load(UInt64.self, what) }

    mutating func string(_ what: String) throws -> String {
        let n = try u64("length of \(what)")
        guard n <= UInt64(remaining) else {
            throw PonderError.badModel("\(what): string length \(n) exceeds the file")
        }
        let raw = try take(Int(n), what)
        // Decoding repairs invalid UTF-8 rather than trapping; names are then compared exactly.
        return String(decoding: raw, as: UTF8.self)
    }

    mutating func value(_ type: GGUFFile.ValueType, context: String, depth: Int) throws -> GGUFFile.Value {
        switch type {
        case .uint8: return .uint(UInt64(try load(UInt8.self, context)))
        case .int8: return .int(Int64(try load(Int8.self, context)))
        case .uint16: return .uint(UInt64(try load(UInt16.self, context)))
        case .int16: return .int(Int64(try load(Int16.self, context)))
        case .uint32: return .uint(UInt64(try load(UInt32.self, context)))
        case .int32: return .int(Int64(try load(Int32.self, context)))
        case .uint64: return .uint(try load(UInt64.self, context))
        case .int64: return .int(try load(Int64.self, context))
        case .float32: return .float(Double(Float(bitPattern: try load(UInt32.self, context))))
        case .float64: return .float(Double(bitPattern: try load(UInt64.self, context)))
        case .bool:
            let b = try load(UInt8.self, context)
            guard b <= 1 else { throw PonderError.badModel("metadata '\(context)': bool value \(b)") }
            return .bool(b == 1)
        case .string: return .string(try string("metadata '\(context)'"))
        case .array:
            guard depth < Reader.maxArrayDepth else {
                throw PonderError.badModel("metadata '\(context)': arrays nested too deeply")
            }
            let rawType = try u32("array type of '\(context)'")
            guard let elementType = GGUFFile.ValueType(rawValue: rawType) else {
                throw PonderError.badModel("metadata '\(context)': unknown array element type \(rawType)")
            }
            let count = try u64("array length of '\(context)'")
            let minSize: Int
            switch elementType {
            case .uint8, .int8, .bool: minSize = 1
            case .uint16, .int16: minSize = 2
            case .uint32, .int32, .float32: minSize = 4
            case .uint64, .int64, .float64, .string: minSize = 8
            case .array: minSize = 12
            }
            guard count <= UInt64(remaining / minSize) else {
                throw PonderError.badModel("metadata '\(context)': array length \(count) exceeds the file")
            }
            var items: [GGUFFile.Value] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) {
                items.append(try value(elementType, context: context, depth: depth + 1))
            }
            return .array(elementType, items)
        }
    }
}
