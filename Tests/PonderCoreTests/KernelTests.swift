import Foundation
import CPonderKernels
@testable import PonderCore
import XCTest

/// The kernels against plain arithmetic.
final class KernelTests: XCTestCase {
    func testHalfToFloatIsExactForEveryHalf() {
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = pk_half_to_float(bits)
            if expected.isNaN { XCTAssertTrue(got.isNaN); continue }
            XCTAssertEqual(got.bitPattern, expected.bitPattern, "half 0x\(String(bits, radix: 16))")
        }
    }

    /// At the head sizes and lengths where the attention kernel's paths part: eight positions
    /// at a time and a tail; 32 and 64 values held in registers, other sizes not. The cache
    /// holds halves; the reference reads the same halves.
    func testAttentionMatchesAPlainSoftmax() {
        var rng = RandomSource(seed: 1)
        func random(_ r: Float) -> Float { (rng.uniform() * 2 - 1) * r }
        for hd in [8, 32, 40, 64] {
            for n in [1, 7, 8, 9, 31, 300] {
                let stride = hd * 3  // keys of other heads lie between a head's positions
                let keys = (0..<(n * stride)).map { _ in Float16(random(2)) }
                let values = (0..<(n * stride)).map { _ in Float16(random(1)) }
                let q = (0..<hd).map { _ in random(2) }
                let scale = 1 / Float(hd).squareRoot()
                var scores = [Float](repeating: 0, count: n), out = [Float](repeating: .nan, count: hd)
                pk_attend(q, keys.map(\.bitPattern), values.map(\.bitPattern), stride, Int32(n), Int32(hd), scale, &scores, &out)

                let logits = (0..<n).map { t in
                    (0..<hd).reduce(0.0) { $0 + Double(q[$1]) * Double(keys[t * stride + $1]) } * Double(scale)
                }
                let m = logits.max()!
                let weights = logits.map { Foundation.exp($0 - m) }
                let total = weights.reduce(0, +)
                for i in 0..<hd {
                    let expected = (0..<n).reduce(0.0) { $0 + weights[$1] * Double(values[$1 * stride + i]) } / total
                    XCTAssertEqual(Double(out[i]), expected, accuracy: 2e-6, "head size \(hd), \(n) positions, value \(i)")
                }
            }
        }
    }

    /// Queries at consecutive positions attended together give each query the bits it gets
    /// alone: across block boundaries (first queries with fewer than 8 positions, runs that
    /// end inside a block), at every head size and run length.
    func testAttentionOfARunIsEachQueryAloneBitForBit() {
        var rng = RandomSource(seed: 2)
        func random(_ r: Float) -> Float { (rng.uniform() * 2 - 1) * r }
        for hd in [8, 32, 40, 64] {
            for (n0, nq) in [(1, 2), (1, 20), (5, 9), (8, 8), (63, 32), (250, 3), (300, 17)] {
                let stride = hd * 3, n = n0 + nq - 1
                let keys = (0..<(n * stride)).map { _ in Float16(random(2)).bitPattern }
                let values = (0..<(n * stride)).map { _ in Float16(random(1)).bitPattern }
                let qStride = hd + 5, sStride = n + 3, oStride = hd * 2
                let q = (0..<(nq * qStride)).map { _ in random(2) }
                let scale = 1 / Float(hd).squareRoot()
                var scores = [Float](repeating: 0, count: nq * sStride), out = [Float](repeating: .nan, count: nq * oStride)
                pk_attend_rows(q, qStride, Int32(nq), keys, values, stride, Int32(n0), Int32(hd), scale, &scores, sStride, &out, oStride)
                for i in 0..<nq {
                    var alone = [Float](repeating: .nan, count: hd), scratch = [Float](repeating: 0, count: n)
                    Array(q[(i * qStride)...]).withUnsafeBufferPointer { qi in
                        pk_attend(qi.baseAddress!, keys, values, stride, Int32(n0 + i), Int32(hd), scale, &scratch, &alone)
                    }
                    XCTAssertEqual(out[(i * oStride)..<(i * oStride + hd)].map(\.bitPattern), alone.map(\.bitPattern),
                                   "head size \(hd), query \(i) of \(nq) from \(n0) positions")
                }
            }
        }
    }

    /// The cache's writes round as Swift's own Float16 conversion does: ties, the largest
    /// half, overflow, subnormals, zeros, infinities and NaN, and random values in between;
    /// eight at a time (F16C) and one at a time (the portable rounding, which the AVX2 path
    /// uses for a tail).
    func testHalvesRoundToNearestEven() {
        var rng = RandomSource(seed: 4)
        var x: [Float] = [0, -0, 1, -1, 65504, 65519, 65520, -70000, 1e-8, -3e-8, 6e-8, 5.96e-8, 2.98e-8, 6.1e-5,
                          1 + 1.0 / 2048, 1 + 3.0 / 2048, .infinity, -.infinity, .nan]
        for e in -30...17 { x += (0..<20).map { _ in (rng.uniform() * 2 - 1) * Float(sign: .plus, exponent: e, significand: 1) } }
        var out = [UInt16](repeating: 0, count: x.count), one = out
        pk_store_halves(x, &out, Int32(x.count))
        for i in x.indices { pk_store_halves([x[i]], &one[i], 1) }
        for (i, v) in x.enumerated() {
            for got in [out[i], one[i]] {
                if v.isNaN { XCTAssertTrue(Float16(bitPattern: got).isNaN); continue }
                XCTAssertEqual(got, Float16(v).bitPattern, "\(v)")
            }
        }
    }

    /// Over the whole range of a float's exponent and around zero, eight at a time and a tail.
    func testSwiGLUMatchesThePlainFormula() {
        var rng = RandomSource(seed: 2)
        for n in [1, 8, 13, 768] {
            let gate = (0..<n).map { i in (rng.uniform() * 2 - 1) * (i % 3 == 0 ? 120 : 6) }
            let up = (0..<n).map { _ in rng.uniform() * 2 - 1 }
            var out = [Float](repeating: .nan, count: n)
            pk_swiglu(gate, up, &out, Int32(n))
            for i in 0..<n {
                let g = Double(gate[i]), expected = g / (1 + Foundation.exp(-g)) * Double(up[i])
                XCTAssertEqual(Double(out[i]), expected, accuracy: 1e-6 * max(1, abs(expected)), "\(n) values, value \(i): gate \(g)")
            }
        }
    }

    /// A row-major Q8_0 matrix: per block a small positive half scale, then 32 quants from `quant`.
    static func q8Matrix(rows: Int, blocks: Int, rng: inout RandomSource, quant: (inout RandomSource) -> UInt8) -> [UInt8] {
        var w = [UInt8](repeating: 0, count: rows * blocks * 34)
        for blk in 0..<(rows * blocks) {
            let d = Float16(0.002 + rng.uniform() * 0.05).bitPattern
            w[34 * blk] = UInt8(d & 0xff)
            w[34 * blk + 1] = UInt8(d >> 8)
            for i in 0..<32 { w[34 * blk + 2 + i] = quant(&rng) }
        }
        return w
    }

    /// The row-major kernel gives each (row, vector) the same bits whatever the batch it comes
    /// in: speculative passes and prefills (many vectors, tiled) must agree with one-token
    /// steps, or drawing would depend on how tokens were grouped. Batches that cross the
    /// kernel's tile (8) and chunk (32) sizes, odd row counts and row ranges inside the matrix.
    /// Where AVX-512 VNNI is present, batches of 4 or more take its own path (and the engine
    /// packs its matrices), so only batches up to 3 are compared there.
    func testRowMajorProductIsTheSameBitsInEveryBatch() {
        var rng = RandomSource(seed: 4)
        let vnni = pk_q8x16_available() != 0
        for (rows, blocks) in [(37, 3), (64, 8), (5, 24)] {
            let w = Self.q8Matrix(rows: rows, blocks: blocks, rng: &rng) { UInt8(truncatingIfNeeded: $0.next()) }  // -128 too
            for batch in [1, 2, 3, 4, 7, 8, 9, 12, 17, 32, 33, 45] where !vnni || batch <= 3 {
                let x = (0..<(batch * blocks * 32)).map { _ in rng.uniform() * 4 - 2 }
                var xq = [pk_block_q8](repeating: pk_block_q8(), count: batch * blocks)
                pk_quantize_q8(x, &xq, Int32(x.count))
                for range in [0..<rows, 1..<max(2, rows - 2)] {
                    var got = [Float](repeating: .nan, count: batch * rows)
                    pk_matmul_q8(w, blocks * 34, Int32(blocks), xq, Int32(batch), &got, Int32(rows),
                                 Int32(range.lowerBound), Int32(range.upperBound))
                    for v in 0..<batch {
                        var alone = [Float](repeating: .nan, count: rows)
                        Array(xq[(v * blocks)..<((v + 1) * blocks)]).withUnsafeBufferPointer { one in
                            pk_matmul_q8(w, blocks * 34, Int32(blocks), one.baseAddress!, 1, &alone, Int32(rows), 0, Int32(rows))
                        }
                        for r in 0..<rows {
                            let g = got[v * rows + r]
                            if range.contains(r) {
                                XCTAssertEqual(g.bitPattern, alone[r].bitPattern, "\(rows)×\(blocks) batch \(batch) row \(r) vector \(v): \(g) vs \(alone[r])")
                            } else {
                                XCTAssertTrue(g.isNaN, "row \(r) outside \(range) was written")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The packed layout's kernel against the row-major one on the same Q8_0 matrix: rows that
    /// do not fill their last group of 16, odd and even block counts, every batch path, and
    /// row ranges that start and end inside a group (the rows outside stay untouched).
    func testPackedMatrixProductMatchesTheRowMajorOne() throws {
        try XCTSkipUnless(pk_q8x16_available() != 0, "no AVX-512 VNNI here: the engine does not pack")
        var rng = RandomSource(seed: 3)
        for (rows, blocks) in [(37, 3), (64, 8), (5, 1)] {
            let w = Self.q8Matrix(rows: rows, blocks: blocks, rng: &rng) { UInt8(bitPattern: Int8(Int($0.next() % 255) - 127)) }
            var packed = [UInt8](repeating: 0, count: pk_q8x16_bytes(Int32(rows), Int32(blocks)) + 64)
            packed.withUnsafeMutableBytes { raw in
                let aligned = raw.baseAddress!.alignedUp(toMultipleOf: 64).assumingMemoryBound(to: UInt8.self)
                pk_pack_q8x16(w, blocks * 34, Int32(rows), Int32(blocks), aligned)
                for batch in [1, 2, 3, 5, 9, 12] {
                    let x = (0..<(batch * blocks * 32)).map { _ in rng.uniform() * 4 - 2 }
                    var xq = [pk_block_q8](repeating: pk_block_q8(), count: batch * blocks)
                    pk_quantize_q8(x, &xq, Int32(x.count))
                    for b in xq { XCTAssertEqual(b.sum, withUnsafeBytes(of: b.q) { $0.reduce(0) { $0 + Int32(Int8(bitPattern: $1)) } }) }
                    var expected = [Float](repeating: 0, count: batch * rows)
                    pk_matmul_q8(w, blocks * 34, Int32(blocks), xq, Int32(batch), &expected, Int32(rows), 0, Int32(rows))
                    for range in [0..<rows, 3..<min(30, rows), (rows / 2)..<rows, 0..<1] {
                        var got = [Float](repeating: .nan, count: batch * rows)
                        pk_matmul_q8x16(aligned, Int32(rows), Int32(blocks), xq, Int32(batch), &got, Int32(rows),
                                        Int32(range.lowerBound), Int32(range.upperBound))
                        for v in 0..<batch {
                            for r in 0..<rows {
                                let e = expected[v * rows + r], g = got[v * rows + r]
                                if range.contains(r) {
                                    XCTAssertEqual(g, e, accuracy: 1e-5 * max(1, abs(e)), "\(rows)×\(blocks) batch \(batch) row \(r) vector \(v)")
                                } else {
                                    XCTAssertTrue(g.isNaN, "row \(r) outside \(range) was written")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// A stride-2 convolution (the encoder's: even kernel, padding (k − 2) / 2) as the encoder
    /// runs it, a stride-1 convolution of the input's space-to-depth rearrangement, against
    /// the stride-2 sum itself in double precision: odd channel counts, every even kernel the
    /// format allows, widths that end in a partial vector.
    func testStrideTwoConvolutionIsTheConvolutionOfItsSpaceToDepth() {
        var rng = RandomSource(seed: 5)
        func random() -> Float { rng.uniform() * 2 - 1 }
        for (cin, cout, k, h, w) in [(3, 5, 4, 8, 8), (16, 8, 4, 16, 34), (5, 9, 2, 6, 20), (2, 3, 6, 10, 12), (3, 16, 4, 128, 128)] {
            let x = (0..<(cin * h * w)).map { _ in random() }
            let weight = (0..<(cout * cin * k * k)).map { _ in random() }
            let bias = (0..<cout).map { _ in random() }
            let oh = h / 2, ow = w / 2, half = k / 2, pad = (k - 2) / 2
            let rearranged = LayerStack.spaceToDepthWeights(weight, cin: cin, cout: cout, k: k)
            var packed = [Float](repeating: .nan, count: pk_conv_packed_floats(Int32(4 * cin), Int32(cout), Int32(half)))
            pk_conv_pack(rearranged, Int32(4 * cin), Int32(cout), Int32(half), &packed)
            var s2d = [Float](repeating: .nan, count: 4 * cin * (oh + half - 1) * (ow + half - 1))
            x.withUnsafeBufferPointer { xp in
                s2d.withUnsafeMutableBufferPointer { sp in
                    LayerStack.spaceToDepth(xp.baseAddress!, cin: cin, h: h, w: w, pad: pad, rows: oh + half - 1, columns: ow + half - 1,
                                            into: sp.baseAddress!)
                }
            }
            var got = [Float](repeating: .nan, count: cout * oh * ow)
            pk_conv2d(s2d, Int32(4 * cin), Int32(oh), Int32(ow), Int32(half), packed, bias, Int32(cout), &got,
                      0, Int32((cout + 7) / 8), 0, Int32(oh), 0, Int32(ow))
            for co in 0..<cout {
                for y in 0..<oh {
                    for xx in 0..<ow {
                        var sum = Double(bias[co])
                        for ci in 0..<cin {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let sy = 2 * y + ky - pad, sx = 2 * xx + kx - pad
                                    guard sy >= 0, sy < h, sx >= 0, sx < w else { continue }
                                    sum += Double(weight[((co * cin + ci) * k + ky) * k + kx]) * Double(x[(ci * h + sy) * w + sx])
                                }
                            }
                        }
                        XCTAssertEqual(Double(got[(co * oh + y) * ow + xx]), sum, accuracy: 1e-4,
                                       "\(cin)→\(cout) k \(k) \(h)×\(w): output \(co), \(y), \(xx)")
                    }
                }
            }
        }
    }

    /// The direct convolution against the sum it is defined as (Σ over channel, row, column of
    /// fused multiply-adds from 0, then the bias), bit for bit: widths that end in a partial
    /// vector or fit one, output channels that do not fill a block of 8, every kernel size the
    /// format allows at stride 1, and any split of blocks, rows and columns.
    func testDirectConvolutionIsItsDefiningSumBitForBit() {
        var rng = RandomSource(seed: 2)
        func random() -> Float { rng.uniform() * 2 - 1 }
        for (cin, cout, k, h, w) in [(3, 5, 3, 4, 7), (16, 8, 3, 16, 16), (8, 12, 3, 5, 33), (4, 17, 1, 3, 40), (5, 9, 5, 6, 20),
                                     (2, 3, 7, 9, 9), (6, 16, 3, 2, 130)] {
            let x = (0..<(cin * h * w)).map { _ in random() }
            let weight = (0..<(cout * cin * k * k)).map { _ in random() }
            let bias = (0..<cout).map { _ in random() }
            var packed = [Float](repeating: .nan, count: pk_conv_packed_floats(Int32(cin), Int32(cout), Int32(k)))
            pk_conv_pack(weight, Int32(cin), Int32(cout), Int32(k), &packed)
            var padded = [Float](repeating: .nan, count: cin * (h + k - 1) * (w + k - 1))
            pk_conv_pad(x, Int32(cin), Int32(h), Int32(w), Int32(k / 2), &padded)
            let blocks = (cout + 7) / 8
            var whole = [Float](repeating: .nan, count: cout * h * w)
            pk_conv2d(padded, Int32(cin), Int32(h), Int32(w), Int32(k), packed, bias, Int32(cout), &whole, 0, Int32(blocks), 0, Int32(h), 0, Int32(w))
            var pieces = [Float](repeating: .nan, count: cout * h * w)
            for b in 0..<blocks {
                for y in 0..<h {
                    for (x0, x1) in [(0, w / 3), (w / 3, w)] where x0 < x1 {
                        pk_conv2d(padded, Int32(cin), Int32(h), Int32(w), Int32(k), packed, bias, Int32(cout), &pieces,
                                  Int32(b), Int32(b + 1), Int32(y), Int32(y + 1), Int32(x0), Int32(x1))
                    }
                }
            }
            let p = k / 2
            var mismatches = 0
            for co in 0..<cout {
                for y in 0..<h {
                    for xx in 0..<w {
                        var acc: Float = 0
                        for ci in 0..<cin {
                            for ky in 0..<k {
                                for kx in 0..<k {
                                    let sy = y + ky - p, sx = xx + kx - p
                                    let v: Float = sy >= 0 && sy < h && sx >= 0 && sx < w ? x[(ci * h + sy) * w + sx] : 0
                                    acc.addProduct(weight[((co * cin + ci) * k + ky) * k + kx], v)  // fused
                                }
                            }
                        }
                        let expected = acc + bias[co], i = (co * h + y) * w + xx
                        if whole[i].bitPattern != expected.bitPattern || pieces[i].bitPattern != expected.bitPattern { mismatches += 1 }
                    }
                }
            }
            XCTAssertEqual(mismatches, 0, "cin \(cin), cout \(cout), k \(k), \(h)×\(w)")
        }
    }

    /// SiLU and the channel softmax give the same bits a value at a time (the portable path)
    /// as eight or sixteen at a time (the vector path), and stay within a few ulp of the plain
    /// formulas.
    func testImageActivationsTakeTheSamePathOnEveryWidth() {
        var rng = RandomSource(seed: 3)
        let x = (0..<37).map { _ in (rng.uniform() * 2 - 1) * 20 } + [-100, 100, 0, -0.0]
        var vector = x
        pk_silu(&vector, Int32(x.count))
        for (i, v) in x.enumerated() {
            var one = [v]
            pk_silu(&one, 1)
            XCTAssertEqual(one[0].bitPattern, vector[i].bitPattern, "silu(\(v))")
            let plain = Double(v) / (1 + Foundation.exp(-Double(v)))
            XCTAssertEqual(Double(vector[i]), plain, accuracy: 4e-7 * max(1, abs(plain)), "silu(\(v))")
        }
        let c = 12, plane = 19
        let logits = (0..<(c * plane)).map { _ in (rng.uniform() * 2 - 1) * 30 }
        var all = logits
        pk_softmax_planes(&all, Int32(c), Int32(plane), Int32(plane))
        for i in 0..<plane {
            var one = (0..<c).map { logits[$0 * plane + i] }
            pk_softmax_planes(&one, Int32(c), 1, 1)
            let m = one.indices.map { Double(logits[$0 * plane + i]) }.max()!
            let total = (0..<c).reduce(0.0) { $0 + Foundation.exp(Double(logits[$1 * plane + i]) - m) }
            for ch in 0..<c {
                XCTAssertEqual(one[ch].bitPattern, all[ch * plane + i].bitPattern, "pixel \(i), channel \(ch)")
                XCTAssertEqual(Double(all[ch * plane + i]), Foundation.exp(Double(logits[ch * plane + i]) - m) / total, accuracy: 1e-6)
            }
        }
    }

    /// The four phases of an upsampled convolution against a 3 × 3 convolution of the
    /// upsample itself, in double precision: the same outputs within float rounding (the
    /// phases add kernel taps before multiplying), at odd sizes and on rows and columns
    /// given in pieces.
    func testUpsampledConvolutionIsTheConvolutionOfTheUpsample() {
        var rng = RandomSource(seed: 4)
        func random() -> Float { rng.uniform() * 2 - 1 }
        for (cin, cout, h, w) in [(3, 5, 4, 7), (16, 12, 8, 8), (5, 9, 3, 21)] {
            let x = (0..<(cin * h * w)).map { _ in random() }
            let weight = (0..<(cout * cin * 9)).map { _ in random() }
            let bias = (0..<cout).map { _ in random() }
            var padded = [Float](repeating: .nan, count: cin * (h + 2) * (w + 2))
            pk_conv_pad(x, Int32(cin), Int32(h), Int32(w), 1, &padded)
            let blocks = Int32((cout + 7) / 8)
            var out = [[Float]](repeating: [Float](repeating: .nan, count: cout * h * w), count: 4)
            for (phase, weights) in LayerStack.upsampledPhases(weight, cin: cin, cout: cout).enumerated() {
                var packed = [Float](repeating: .nan, count: pk_conv_packed_floats(Int32(cin), Int32(cout), 2))
                pk_conv_pack(weights, Int32(cin), Int32(cout), 2, &packed)
                for (y0, y1) in [(0, h / 2), (h / 2, h)] where y0 < y1 {
                    pk_conv2d_upsampled(padded, Int32(cin), Int32(h), Int32(w), Int32(phase), packed, bias, Int32(cout), &out[phase],
                                        0, blocks, Int32(y0), Int32(y1), 0, Int32(w))
                }
            }
            var worst = 0.0
            for co in 0..<cout {
                for y in 0..<(2 * h) {
                    for xx in 0..<(2 * w) {
                        var sum = Double(bias[co])
                        for ci in 0..<cin {
                            for ky in 0..<3 {
                                for kx in 0..<3 {
                                    let uy = y + ky - 1, ux = xx + kx - 1
                                    guard uy >= 0, uy < 2 * h, ux >= 0, ux < 2 * w else { continue }
                                    sum += Double(weight[((co * cin + ci) * 3 + ky) * 3 + kx]) * Double(x[(ci * h + uy / 2) * w + ux / 2])
                                }
                            }
                        }
                        let got = out[2 * (y % 2) + xx % 2][(co * h + y / 2) * w + xx / 2]
                        worst = max(worst, abs(Double(got) - sum))
                    }
                }
            }
            XCTAssertLessThan(worst, 1e-4, "cin \(cin), cout \(cout), \(h)×\(w)")
        }
    }
}
