import CPonderKernels
#if canImport(Glibc)
import Glibc
#endif

/// A weight matrix read in place from the model file's bytes: `rows` rows of `cols` values, each row
/// stored contiguously as F32, F16 or Q8_0 blocks (32 int8 values and one f16 scale).
struct Matrix {
    let rows: Int
    let cols: Int
    let type: GGUFFile.TensorType
    let data: UnsafeRawPointer
    /// The same Q8_0 matrix repacked for AVX-512 VNNI (Q8_0 x16, see ponder_kernels.h), which
    /// multiply uses instead of `data` when set; owned by a PackedMatrices.
    var packed: UnsafeRawPointer? = nil

    var rowBytes: Int { cols / type.block.elements * type.block.bytes }

    /// Dequantizes row `r` into `out` (cols values).
    func row(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        let p = data + r * rowBytes
        switch type {
        case .f32:
            out.update(from: p.assumingMemoryBound(to: Float.self), count: cols)
        case .f16:
            for i in 0..<cols { out[i] = pk_half_to_float(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .q8_0:
            for b in 0..<(cols / 32) {
                let block = p + b * 34
                let d = pk_half_to_float(block.loadUnaligned(as: UInt16.self))
                for i in 0..<32 { out[b * 32 + i] = d * Float(block.load(fromByteOffset: 2 + i, as: Int8.self)) }
            }
        }
    }

    /// All values as F32 (for the small tensors: norms, biases, decoder weights).
    func floats() -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        out.withUnsafeMutableBufferPointer { buf in
            for r in 0..<rows { row(r, into: buf.baseAddress! + r * cols) }
        }
        return out
    }

    /// out[b * rows + r] = Σ_k self[r][k] · x[b][k] for b in 0..<batch, over rows `range`, with
    /// the activations given as `xq`, the batch quantized by quantize(_:batch:into:); int8 times
    /// int8 as llama.cpp does. Only Q8_0 matrices are multiplied: the loader requires that type
    /// of every transformer matrix (the embedding, which may be F32 or F16, is only read by row).
    /// Each output is computed the same way whichever rows a thread is given, so results do not
    /// depend on the thread count.
    func multiply(_ xq: UnsafePointer<pk_block_q8>, batch: Int, into out: UnsafeMutablePointer<Float>, rows range: Range<Int>) {
        if let packed {
            pk_matmul_q8x16(packed.assumingMemoryBound(to: UInt8.self), Int32(rows), Int32(cols / 32), xq, Int32(batch),
                            out, Int32(rows), Int32(range.lowerBound), Int32(range.upperBound))
            return
        }
        pk_matmul_q8(data.assumingMemoryBound(to: UInt8.self), rowBytes, Int32(cols / 32), xq, Int32(batch),
                     out, Int32(rows), Int32(range.lowerBound), Int32(range.upperBound))
    }

    /// Quantizes `batch` input vectors of `cols` values for multiply.
    func quantize(_ x: UnsafePointer<Float>, batch: Int, into xq: UnsafeMutablePointer<pk_block_q8>) {
        for b in 0..<batch { pk_quantize_q8(x + b * cols, xq + b * (cols / 32), Int32(cols)) }
    }
}

/// Owns the packed copies of a model's Q8_0 matrices and frees them with itself. On a
/// processor with AVX-512 VNNI the packed kernel makes 16 rows' products per instruction
/// (docs/performance.md has the measurement); elsewhere nothing is packed.
final class PackedMatrices {
    private var memory: [UnsafeMutableRawPointer] = []
    let enabled = pk_q8x16_available() != 0

    deinit { for p in memory { free(p) } }

    /// `m` with a packed copy of its rows when enabled (then `file`'s pages under `m` are
    /// released: they are not read again), else `m` unchanged.
    func pack(_ m: Matrix, of file: GGUFFile) throws -> Matrix {
        guard enabled, m.type == .q8_0 else { return m }
        let bytes = pk_q8x16_bytes(Int32(m.rows), Int32(m.cols / 32))
        var p: UnsafeMutableRawPointer? = nil
        guard posix_memalign(&p, 64, max(bytes, 64)) == 0, let p else {
            throw PonderError(.outOfMemory, "cannot allocate \(bytes) bytes for a packed \(m.rows) × \(m.cols) matrix")
        }
        memory.append(p)
        pk_pack_q8x16(m.data.assumingMemoryBound(to: UInt8.self), m.rowBytes, Int32(m.rows), Int32(m.cols / 32),
                      p.assumingMemoryBound(to: UInt8.self))
        file.evict(m.data, byteCount: m.rows * m.rowBytes)
        var packed = m
        packed.packed = UnsafeRawPointer(p)
        return packed
    }
}
