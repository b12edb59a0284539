import Logging
import SwerveCore

/// One loaded TorchScript module, with the mapping of its configured inputs and outputs onto
/// `forward`.
///
/// ``run(inputs:outputs:)`` may be called from many threads at once: a module's `forward` is
/// safe to run concurrently (libtorch's graph executor locks while it compiles a plan, and each
/// run has its own interpreter state), and the shim's module is never changed after loading.
final class TorchModelInstance: ModelInstance, @unchecked Sendable {
    // @unchecked: every stored property is immutable after init and only read afterwards; the
    // module handle is freed in deinit, when no caller can hold the instance any more.

    /// The configured inputs and outputs, in config order.
    let signature: ModelSignature

    let runtime: TorchRuntime
    let module: OpaquePointer
    let binding: TorchBinding
    /// The number of `forward`'s arguments.
    let argumentCount: Int
    /// Each input's binding, by name.
    let inputs: [String: TorchBinding.Input]
    /// Each output's binding, by name.
    let outputs: [String: TorchBinding.Output]

    var api: TorchShimAPI { runtime.api }

    private init(runtime: TorchRuntime, module: OpaquePointer, binding: TorchBinding) {
        self.runtime = runtime
        self.module = module
        self.binding = binding
        self.signature = binding.signature
        self.argumentCount = binding.inputs.count
        self.inputs = Dictionary(binding.inputs.map { ($0.spec.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.outputs = Dictionary(binding.outputs.map { ($0.spec.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    deinit {
        api.moduleFree(module)
    }

    /// Loads the module at `modelPath` and maps `config`'s inputs and outputs onto its `forward`.
    /// - Throws: ``SwerveError`` (`invalidArgument`) "failed to load TorchScript model at PATH: ...".
    static func load(
        runtime: TorchRuntime, modelPath: String, config: Inference_ModelConfig?, logger: Logger
    ) throws(SwerveError) -> TorchModelInstance {
        let api = runtime.api
        let (loaded, error) = api.capturingError { api.load(modelPath, 1, $0) }
        guard let module = loaded else {
            throw SwerveError.invalid(
                "failed to load TorchScript model at \(modelPath): \(TorchErrorMessage.summary(error ?? "libtorch gave no message"))")
        }
        let binding: TorchBinding
        do {
            binding = try TorchBinding(config: config, forward: schema(of: module, api: api))
        } catch {
            api.moduleFree(module)
            throw SwerveError(error.code, "failed to load TorchScript model at \(modelPath): \(error.message)")
        }
        let note = TorchShimAPI.string(api.moduleNote(module))
        if !note.isEmpty {
            logger.notice("TorchScript model served without libtorch's inference optimisations", metadata: [
                "model": "\(modelPath)", "reason": "\(note)",
            ])
        }
        let copied = binding.inputs.filter { api.argumentBorrowed(module, Int32($0.argument)) == 0 }.map(\.spec.name)
        if !copied.isEmpty {
            logger.debug("TorchScript model may write to or keep inputs; they are copied before each run", metadata: [
                "model": "\(modelPath)", "inputs": "\(copied.joined(separator: ", "))",
            ])
        }
        return TorchModelInstance(runtime: runtime, module: module, binding: binding)
    }

    /// What the module's `forward` declares, read through the shim.
    private static func schema(of module: OpaquePointer, api: TorchShimAPI) -> TorchForwardSchema {
        let count = api.argumentCount(module)
        let names = (0..<count).map { TorchShimAPI.string(api.argumentName(module, $0)) }
        let types = (0..<count).map { TorchShimAPI.string(api.argumentType(module, $0)) }
        let returns: TorchForwardSchema.Returns
        switch api.returnKind(module) {
        case 0: returns = .tensor
        case 1: returns = .tuple(count: Int(api.returnArity(module)))
        case 2: returns = .list
        default: returns = .other(type: TorchShimAPI.string(api.returnType(module)))
        }
        return TorchForwardSchema(argumentNames: names, argumentTypes: types, returns: returns)
    }
}
