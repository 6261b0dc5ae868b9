import CPonderKernels
@testable import PonderCore
import XCTest

/// The kernels against plain arithmetic.
final class KernelTests: XCTestCase {
    func testHalfToFloatIsExactForEveryHalf() {
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = halfToFloat(bits)
            if expected.isNaN { XCTAssertTrue(got.isNaN); continue }
            XCTAssertEqual(got.bitPattern, expected.bitPattern, "half 0x\(String(bits, radix: 16))")
        }
    }

    /// At the head sizes and lengths where the attention kernel's paths part: eight positions
    /// at a time and a tail; 32 and 64 values held in registers, other sizes not.
    func testAttentionMatchesAPlainSoftmax() {
        var rng = RandomSource(seed: 1)
        func random(_ r: Float) -> Float { (rng.uniform() * 2 - 1) * r }
        for hd in [8, 32, 40, 64] {
            for n in [1, 7, 8, 9, 31, 300] {
                let stride = hd * 3  // keys of other heads lie between a head's positions
                let keys = (0..<(n * stride)).map { _ in random(2) }
                let values = (0..<(n * stride)).map { _ in random(1) }
                let q = (0..<hd).map { _ in random(2) }
                let scale = 1 / Float(hd).squareRoot()
                var scores = [Float](repeating: 0, count: n), out = [Float](repeating: .nan, count: hd)
                pk_attend(q, keys, values, stride, Int32(n), Int32(hd), scale, &scores, &out)

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
}
