#if canImport(Glibc)
import Glibc
#endif

/// A small, fast, seedable generator (xoshiro256**, seeded through SplitMix64), so the same
/// seed gives the same draws on every machine and run.
struct RandomSource {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var z = seed
        func splitmix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var r = z
            r = (r ^ (r >> 30)) &* 0xBF58_476D_1CE4_E5B9
            r = (r ^ (r >> 27)) &* 0x94D0_49BB_1331_11EB
            return r ^ (r >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 24 bits, exactly representable as Float.
    mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }
}

public struct SamplingParameters: Equatable {
    public var temperature: Float = 1.0
    public var topK: Int = 0
    public var topP: Float = 1.0

    public init(temperature: Float = 1.0, topK: Int = 0, topP: Float = 1.0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }
}

/// Picks one token among candidates from their logits: temperature, then top-k, then top-p.
/// Temperature 0 is greedy (the highest logit, the lowest id on ties). Works in buffers sized
/// once, so sampling a token allocates nothing.
final class Sampler {
    var params: SamplingParameters
    /// The stream draws come from. Its owner seeds it for each stream it draws (a session:
    /// thinking, drawing, each redraw), so the sampler starts with none of its own.
    var rng = RandomSource(seed: 0)
    private let capacity: Int
    private let ids: UnsafeMutablePointer<Int32>
    private let logit: UnsafeMutablePointer<Float>

    init(params: SamplingParameters, capacity: Int) {
        self.params = params
        self.capacity = capacity
        ids = .allocate(capacity: capacity)
        ids.initialize(repeating: 0, count: capacity)
        logit = .allocate(capacity: capacity)
        logit.initialize(repeating: 0, count: capacity)
    }

    deinit {
        ids.deallocate()
        logit.deallocate()
    }

    /// Samples among the `count` candidates whose ids and logits `fill` writes; returns an id.
    func sample(count: Int, fill: (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Float>) -> Void) -> Int32 {
        let count = min(max(count, 1), capacity)  // callers pass 1...capacity; never trap
        let p = params
                fill(ids, logit)
                var best = 0
                for i in 1..<max(count, 1) where logit[i] > logit[best] { best = i }
                if p.temperature <= 0 || count == 1 { return ids[best] }

                var n = count
                let needSort = (p.topK > 0 && p.topK < n) || p.topP < 1
                if needSort {
                    // Order by logit, highest first; ties by id so the order is total.
                    sortDescending(ids, logit, n)
                    if p.topK > 0 && p.topK < n { n = p.topK }
                }
                var m = logit[0]
                for i in 1..<n where logit[i] > m { m = logit[i] }
                var sum: Float = 0
                for i in 0..<n {
                    let e = expf((logit[i] - m) / p.temperature)
                    logit[i] = e
                    sum += e
                }
                if needSort && p.topP < 1 {
                    var cumulative: Float = 0
                    var keep = n
                    for i in 0..<n {
                        cumulative += logit[i] / sum
                        if cumulative >= p.topP { keep = i + 1; break }
                    }
                    n = keep
                    sum = 0
                    for i in 0..<n { sum += logit[i] }
                }
                let r = rng.uniform() * sum
                var acc: Float = 0
                for i in 0..<n {
                    acc += logit[i]
                    if r < acc { return ids[i] }
                }
                return ids[n - 1]
    }

    /// Heap sort of (logit, id) pairs in place, highest logit first.
    private func sortDescending(_ ids: UnsafeMutablePointer<Int32>, _ logit: UnsafeMutablePointer<Float>, _ n: Int) {
        func before(_ a: Int, _ b: Int) -> Bool {
            // "a comes after b" in the final order: lower logit, or equal logit and higher id.
            logit[a] < logit[b] || (logit[a] == logit[b] && ids[a] > ids[b])
        }
        func swapAt(_ a: Int, _ b: Int) {
            let l = logit[a]; logit[a] = logit[b]; logit[b] = l
            let i = ids[a]; ids[a] = ids[b]; ids[b] = i
        }
        func siftDown(_ start: Int, _ end: Int) {
            var root = start
            while 2 * root + 1 < end {
                var child = 2 * root + 1
                if child + 1 < end && before(child + 1, child) { child += 1 }
                if before(child, root) { swapAt(root, child); root = child } else { return }
            }
        }
        // Min-heap on the final order, then pop to the back: yields descending order.
        var start = n / 2 - 1
        while start >= 0 { siftDown(start, n); start -= 1 }
        var end = n - 1
        while end > 0 {
            swapAt(0, end)
            siftDown(0, end)
            end -= 1
        }
    }
}
