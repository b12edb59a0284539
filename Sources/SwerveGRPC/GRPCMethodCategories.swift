import GRPCCore
import SwerveCore

/// The access category of every method this server registers
/// (``GRPCFrontend/services(server:options:drain:)``): what `--grpc-restricted-protocol` restricts
/// (``RestrictedProtocolInterceptor``) and where a call runs (``GRPCPlacementInterceptor``).
enum GRPCMethodCategories {
    static let byMethod: [MethodDescriptor: RestrictedCategory] = {
        typealias Method = Inference_GRPCInferenceService.Method
        return [
            Method.ServerLive.descriptor: .health,
            Method.ServerReady.descriptor: .health,
            Method.ModelReady.descriptor: .health,
            Method.ServerMetadata.descriptor: .metadata,
            Method.ModelMetadata.descriptor: .metadata,
            Method.ModelInfer.descriptor: .inference,
            Method.ModelStreamInfer.descriptor: .inference,
            Method.ModelConfig.descriptor: .modelConfig,
            Method.ModelStatistics.descriptor: .statistics,
            Method.RepositoryIndex.descriptor: .modelRepository,
            Method.RepositoryModelLoad.descriptor: .modelRepository,
            Method.RepositoryModelUnload.descriptor: .modelRepository,
            Method.SystemSharedMemoryStatus.descriptor: .sharedMemory,
            Method.SystemSharedMemoryRegister.descriptor: .sharedMemory,
            Method.SystemSharedMemoryUnregister.descriptor: .sharedMemory,
            Method.CudaSharedMemoryStatus.descriptor: .sharedMemory,
            Method.CudaSharedMemoryRegister.descriptor: .sharedMemory,
            Method.CudaSharedMemoryUnregister.descriptor: .sharedMemory,
            Method.TraceSetting.descriptor: .trace,
            Method.LogSettings.descriptor: .logging,
            // Triton: restricting `health` also restricts the standard health checking protocol.
            Grpc_Health_V1_Health.Method.Check.descriptor: .health,
        ]
    }()
}
