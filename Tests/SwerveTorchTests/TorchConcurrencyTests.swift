import Foundation
import SwerveCore
@testable import SwerveTorch
import Testing

/// One module run from several threads at once gives every caller the answer for its own input.
@Suite(.enabled(if: TorchFixture.runsTorchTests))
struct TorchConcurrencyTests {
    /// Eight threads each run the two-input model 25 times on inputs of their own; every answer
    /// is exactly the one a single run gives for that input.
    @Test func concurrentRunsAgreeWithSingleRuns() throws {
        let folder = try TorchFixture.model("two_io")
        let instance = try TorchFixture.load(folder)
        let threads = 8
        let inputs = (0..<threads).map { thread in
            ["a", "b"].enumerated().map { index, name in
                let values = (0..<12).map { Float(thread * 100 + index * 10) + Float($0) / 8 }
                return NamedTensor(name: name, tensor: Tensor(dataType: .fp32, shape: [3, 4], data: values.withUnsafeBytes { Array($0) }))
            }
        }
        let expected = try inputs.map { try instance.run(inputs: $0, outputs: ["OUTPUT__0", "OUTPUT__1"]) }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for _ in 0..<25 {
                let outcome = Result { try instance.run(inputs: inputs[thread], outputs: ["OUTPUT__0", "OUTPUT__1"]) }
                results.record(thread: thread, outcome: outcome, expected: expected[thread])
            }
        }
        #expect(results.mismatches == 0, "\(results.firstError ?? "")")
        #expect(results.runs == threads * 25)
    }
}

/// What the threads of ``TorchConcurrencyTests`` saw, under a lock.
private final class Results: @unchecked Sendable {
    // @unchecked: every property is read and written only while `lock` is held.
    private let lock = NSLock()
    private(set) var runs = 0
    private(set) var mismatches = 0
    private(set) var firstError: String?

    func record(thread: Int, outcome: Result<[NamedTensor], any Error>, expected: [NamedTensor]) {
        let problem: String?
        switch outcome {
        case .success(let outputs): problem = outputs == expected ? nil : "thread \(thread): outputs differ"
        case .failure(let error): problem = "thread \(thread): \(error)"
        }
        lock.withLock {
            runs += 1
            if let problem {
                mismatches += 1
                firstError = firstError ?? problem
            }
        }
    }
}
