import Foundation
import SwerveCore

/// A fake identity model whose runs a test can hold: while the gate is closed, each run counts
/// itself as held and blocks its thread until the test opens the gate. Tests use it to keep an
/// instance busy for exactly as long as they need, instead of a model that sleeps and a test
/// that sleeps longer.
///
/// The gate starts open, so the warm-up at load passes; a test closes it once the model is
/// loaded. A run held longer than ``holdLimit`` fails instead of blocking forever, so a test that
/// fails before opening the gate does not hang the suite.
public final class GatedModel: @unchecked Sendable {
    // @unchecked: `isOpen`, `held`, `runs` and `batchSizes` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var isOpen = true
    private var held = 0
    private var runs = 0
    private var sizes: [Int] = []
    private let signature: ModelSignature
    private let output: String
    /// The longest a run waits at the closed gate before it fails.
    public let holdLimit: Duration

    /// Creates an open gate in front of an identity model (`x` → `y`) of `dataType` and `shape`.
    public init(_ dataType: DataType = .fp32, shape: [Int] = [-1, 4], input: String = "x", output: String = "y", holdLimit: Duration = .seconds(30)) {
        signature = ModelSignature(
            inputs: [TensorSpec(name: input, dataType: dataType, shape: shape)],
            outputs: [TensorSpec(name: output, dataType: dataType, shape: shape)])
        self.output = output
        self.holdLimit = holdLimit
    }

    /// The model to give ``FakeBackend``.
    public var model: FakeBackend.FakeModel {
        FakeBackend.FakeModel(signature: signature) { [self] inputs, _ in
            try self.pass(rows: inputs.first?.tensor.shape.first ?? 0)
            return [NamedTensor(name: self.output, tensor: inputs[0].tensor)]
        }
    }

    /// Makes the following runs wait at the gate.
    public func close() {
        condition.withLock { isOpen = false }
    }

    /// Lets every held run and every later one through.
    public func open() {
        condition.withLock {
            isOpen = true
            condition.broadcast()
        }
    }

    /// Runs that started, warm-up included, whether held or finished.
    public var runCount: Int { condition.withLock { runs } }

    /// Runs waiting at the gate now.
    public var heldCount: Int { condition.withLock { held } }

    /// The first dimension of the first input of each run, in the order the runs started.
    public var batchSizes: [Int] { condition.withLock { sizes } }

    private func pass(rows: Int) throws {
        condition.lock()
        defer { condition.unlock() }
        runs += 1
        sizes.append(rows)
        guard !isOpen else { return }
        held += 1
        defer { held -= 1 }
        let deadline = Date(timeIntervalSinceNow: Double(holdLimit.components.seconds))
        while !isOpen {
            if !condition.wait(until: deadline) && !isOpen {
                throw SwerveError.internal("GatedModel: the test never opened the gate (held for \(holdLimit))")
            }
        }
    }
}
