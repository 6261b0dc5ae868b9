import Foundation
import XCTest
@testable import PonderCore

/// Speculative drawing (Session.step) against drawing one token per call, which never
/// speculates: the same codes, byte for byte, whatever the prompt, seed, guidance, sampling
/// and thread count.
final class SpeculationTests: XCTestCase {
    static let model = try! Model(path: ConcurrencyTests.modelPath)

    func codes(_ prompt: String, seed: UInt64, chunk: Int, cfg: Float? = nil, temperature: Float = 1,
               topK: Int = 0, threads: Int = 1) throws -> [Int32] {
        var p = SessionParameters()
        p.seed = seed
        p.threads = threads
        p.checkAttempts = 0
        p.cfgScale = cfg
        p.temperature = temperature
        p.topK = topK
        let s = try Session(model: SpeculationTests.model, parameters: p)
        _ = try s.plan(prompt: prompt)
        while s.codes.count < s.totalTokens { try s.step(chunk) }
        return s.codes
    }

    /// The property speculative drawing rests on: a pass that feeds several tokens computes,
    /// after each, exactly the logits that feeding them one at a time does.
    func testAPassOfSeveralTokensGivesEachTokensOwnLogits() throws {
        let model = SpeculationTests.model
        let vocab = model.hyperParameters.vocabSize
        let o = Int32(model.vocabulary.imageCodeOffset)
        let prefix = Array(Int32(6)..<Int32(40)), fed: [Int32] = [o + 80, o + 96, o + 15, o + 80, o + 81]
        for sequences in [1, 2] {
            for threads in [1, 2] {
                let one = try TransformerState(weights: model.weights, pool: try ThreadPool(size: threads))
                let pass = try TransformerState(weights: model.weights, pool: try ThreadPool(size: threads))
                for s in 0..<sequences { try one.append(s, prefix); try pass.append(s, prefix) }
                try pass.speculate(fed, sequences: sequences, rows: 0..<vocab)
                for (j, token) in fed.enumerated() {
                    try one.advance(token, sequences: sequences)
                    for s in 0..<sequences {
                        let a = one.logits(of: s), b = pass.logits(of: s, after: j, tokens: fed.count)
                        XCTAssertTrue((0..<vocab).allSatisfy { a[$0] == b[$0] }, "sequence \(s), token \(j), \(threads) threads")
                    }
                }
                XCTAssertEqual(pass.count(of: 0), prefix.count + fed.count)
            }
        }
    }

    func testSpeculativeDrawingGivesTheSequentialCodes() throws {
        let cases: [(String, UInt64, Float?, Float, Int)] = [
            ("two green stars and a purple heart", 1, nil, 1, 0),
            ("a small blue triangle in the top left corner and a red square", 2, 1, 1, 0),
            ("a large yellow ring in the center", 3, 3, 0.7, 5),
        ]
        for (prompt, seed, cfg, t, k) in cases {
            let one = try codes(prompt, seed: seed, chunk: 1, cfg: cfg, temperature: t, topK: k)
            XCTAssertEqual(one.count, 256)
            for chunk in [4, 256] {
                let many = try codes(prompt, seed: seed, chunk: chunk, cfg: cfg, temperature: t, topK: k, threads: chunk == 4 ? 2 : 1)
                XCTAssertEqual(many, one, "\(prompt), seed \(seed), steps of \(chunk)")
            }
        }
    }
}
