import Foundation
import SwerveCore
import Synchronization

/// A backend that needs no model runtime: each model is described in code and keyed by the
/// model folder name, so core and frontend tests run without ONNX Runtime.
public final class FakeBackend: InferenceBackend {
    /// A model the fake backend can "load".
    public struct FakeModel: Sendable {
        /// The signature the loaded instance reports.
        public var signature: ModelSignature
        /// Seconds each load takes.
        public var loadDelay: Double
        /// Computes the outputs from the inputs.
        public var run: @Sendable ([NamedTensor], [String]) throws -> [NamedTensor]
        /// Bytes each loaded instance counts in ``FakeBackend/allocatedBytes`` while it lives.
        public var memoryBytes = 0

        /// Creates a fake model.
        public init(
            signature: ModelSignature, loadDelay: Double = 0,
            run: @escaping @Sendable ([NamedTensor], [String]) throws -> [NamedTensor]
        ) {
            self.signature = signature
            self.loadDelay = loadDelay
            self.run = run
        }

        /// A model whose outputs equal its inputs, pairwise in order (`x` → `y`).
        public static func identity(_ dataType: DataType = .fp32, shape: [Int] = [-1, 4], input: String = "x", output: String = "y", delay: Double = 0) -> FakeModel {
            FakeModel(
                signature: ModelSignature(
                    inputs: [TensorSpec(name: input, dataType: dataType, shape: shape)],
                    outputs: [TensorSpec(name: output, dataType: dataType, shape: shape)])
            ) { inputs, _ in
                if delay > 0 { Thread.sleep(forTimeInterval: delay) }
                return [NamedTensor(name: output, tensor: inputs[0].tensor)]
            }
        }
    }

    private let models: [String: FakeModel]
    /// How many instances have been loaded so far.
    public let loadCount = Atomic<Int>(0)
    /// The bytes the living instances hold (their models' ``FakeModel/memoryBytes``): what the
    /// model manager measures when a test gives it this as its allocation counter.
    public let allocated = Atomic<Int>(0)

    /// Reads ``allocated``, as the model manager's allocation counter.
    public var allocatedBytes: @Sendable () -> Int? {
        { [self] in allocated.load(ordering: .relaxed) }
    }

    /// Creates a backend serving `models`, keyed by model folder name.
    public init(models: [String: FakeModel]) {
        self.models = models
    }

    public var name: String { "onnxruntime" }
    public var platform: String { "onnxruntime_onnx" }
    public var defaultModelFilename: String { "model.onnx" }

    public func loadInstance(modelPath: String, options: InstanceOptions) throws -> any ModelInstance {
        let components = modelPath.split(separator: "/")
        guard components.count >= 3, let model = models[String(components[components.count - 3])] else {
            throw SwerveError.invalid("fake backend has no model for \(modelPath)")
        }
        if model.loadDelay > 0 { Thread.sleep(forTimeInterval: model.loadDelay) }
        loadCount.add(1, ordering: .relaxed)
        return FakeInstance(model: model, backend: self)
    }
}

/// One loaded fake model.
final class FakeInstance: ModelInstance {
    let model: FakeBackend.FakeModel
    private let backend: FakeBackend

    init(model: FakeBackend.FakeModel, backend: FakeBackend) {
        self.model = model
        self.backend = backend
        backend.allocated.add(model.memoryBytes, ordering: .relaxed)
    }

    deinit { backend.allocated.subtract(model.memoryBytes, ordering: .relaxed) }

    var signature: ModelSignature { model.signature }
    func run(inputs: [NamedTensor], outputs: [String]) throws -> [NamedTensor] {
        let all = try model.run(inputs, outputs)
        return outputs.compactMap { name in all.first { $0.name == name } }
    }
}
