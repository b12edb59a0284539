import Foundation
import GRPCCore
import SwerveCore

/// The KServe v2 `inference.GRPCInferenceService`, translated onto ``InferenceServer``: health,
/// metadata, configuration, statistics, the model repository and settings here; inference in
/// `KServeGRPCService+Inference.swift`.
///
/// Shared memory is answered by the core as Triton answers without the feature: status lists no
/// regions, unregister succeeds, register is refused as unsupported (`UNIMPLEMENTED`).
struct KServeGRPCService: Inference_GRPCInferenceService.SimpleServiceProtocol {
    /// The core every call is translated onto.
    let server: InferenceServer
    /// The most requests of one ModelStreamInfer stream in flight at once.
    let streamWindow: Int
    /// Set when the server begins to shut down.
    let drain: DrainSignal

    // MARK: - Health and metadata

    func serverLive(request: Inference_ServerLiveRequest, context: ServerContext) async throws -> Inference_ServerLiveResponse {
        .with { $0.live = server.isLive }
    }

    func serverReady(request: Inference_ServerReadyRequest, context: ServerContext) async throws -> Inference_ServerReadyResponse {
        .with { $0.ready = server.isReady }
    }

    /// Unknown models are not ready (as Triton answers), rather than an error.
    func modelReady(request: Inference_ModelReadyRequest, context: ServerContext) async throws -> Inference_ModelReadyResponse {
        try await GRPCErrorMapping.mapping {
            let version = try ModelVersionText.parse(request.version, model: request.name)
            do {
                let ready = try await server.isModelReady(request.name, version: version)
                return .with { $0.ready = ready }
            } catch let error as SwerveError where error.code == .notFound {
                return .with { $0.ready = false }
            }
        }
    }

    func serverMetadata(request: Inference_ServerMetadataRequest, context: ServerContext) async throws -> Inference_ServerMetadataResponse {
        .with {
            $0.name = server.info.name
            $0.version = server.info.version
            $0.extensions = server.info.extensions
        }
    }

    func modelMetadata(request: Inference_ModelMetadataRequest, context: ServerContext) async throws -> Inference_ModelMetadataResponse {
        try await GRPCErrorMapping.mapping {
            let metadata = try await server.metadata(model: request.name, version: try ModelVersionText.parse(request.version, model: request.name))
            func tensors(_ specs: [TensorSpec]) -> [Inference_ModelMetadataResponse.TensorMetadata] {
                specs.map { spec in
                    .with {
                        $0.name = spec.name
                        $0.datatype = spec.dataType.rawValue
                        $0.shape = spec.shape.map(Int64.init)
                    }
                }
            }
            return .with {
                $0.name = metadata.name
                $0.versions = metadata.versions.map(String.init)
                $0.platform = metadata.platform
                $0.inputs = tensors(metadata.inputs)
                $0.outputs = tensors(metadata.outputs)
            }
        }
    }

    func modelConfig(request: Inference_ModelConfigRequest, context: ServerContext) async throws -> Inference_ModelConfigResponse {
        try await GRPCErrorMapping.mapping {
            let config = try await server.config(model: request.name, version: try ModelVersionText.parse(request.version, model: request.name))
            return .with { $0.config = config }
        }
    }

    /// An empty name asks for every ready model version.
    func modelStatistics(request: Inference_ModelStatisticsRequest, context: ServerContext) async throws -> Inference_ModelStatisticsResponse {
        try await GRPCErrorMapping.mapping {
            let version = request.name.isEmpty ? nil : try ModelVersionText.parse(request.version, model: request.name)
            let statistics = try server.statistics(model: request.name, version: version)
            return .with { $0.modelStats = statistics.map(StatisticsTranslation.message(from:)) }
        }
    }

    // MARK: - Model repository

    func repositoryIndex(request: Inference_RepositoryIndexRequest, context: ServerContext) async throws -> Inference_RepositoryIndexResponse {
        try await GRPCErrorMapping.mapping {
            try Self.requireNoRepositoryName(request.repositoryName)
            let rows = server.repositoryIndex(readyOnly: request.ready)
            return .with {
                $0.models = rows.map { row in
                    .with {
                        $0.name = row.name
                        $0.version = row.version.map(String.init) ?? ""
                        $0.state = row.state ?? ""
                        $0.reason = row.reason ?? ""
                    }
                }
            }
        }
    }

    func repositoryModelLoad(request: Inference_RepositoryModelLoadRequest, context: ServerContext) async throws -> Inference_RepositoryModelLoadResponse {
        try await GRPCErrorMapping.mapping {
            try Self.requireNoRepositoryName(request.repositoryName)
            try await server.loadModel(request.modelName, override: try ModelOverride.parse(Self.overrideParameters(request.parameters)))
            return Inference_RepositoryModelLoadResponse()
        }
    }

    func repositoryModelUnload(request: Inference_RepositoryModelUnloadRequest, context: ServerContext) async throws -> Inference_RepositoryModelUnloadResponse {
        try await GRPCErrorMapping.mapping {
            try Self.requireNoRepositoryName(request.repositoryName)
            try await server.unloadModel(request.modelName)
            return Inference_RepositoryModelUnloadResponse()
        }
    }

    /// A load request's parameters as the core reads them: `string_param` is text, `bytes_param`
    /// bytes; what they mean (`config`, `file:<path>`) is the core's to say.
    static func overrideParameters(_ parameters: [String: Inference_ModelRepositoryParameter]) -> [String: ModelOverride.Parameter] {
        parameters.mapValues { value in
            switch value.parameterChoice {
            case .stringParam(let text)?: .string(text)
            case .bytesParam(let bytes)?: .bytes([UInt8](bytes))
            case .boolParam?: .other("bool_param")
            case .int64Param?: .other("int64_param")
            case nil: .other("an empty parameter")
            }
        }
    }

    private static func requireNoRepositoryName(_ name: String) throws {
        guard name.isEmpty else {
            throw SwerveError(.unsupported, "'repository_name' specification is not supported")
        }
    }

    // MARK: - Shared memory (absent)

    func systemSharedMemoryStatus(
        request: Inference_SystemSharedMemoryStatusRequest, context: ServerContext
    ) async throws -> Inference_SystemSharedMemoryStatusResponse {
        Inference_SystemSharedMemoryStatusResponse()
    }

    func systemSharedMemoryRegister(
        request: Inference_SystemSharedMemoryRegisterRequest, context: ServerContext
    ) async throws -> Inference_SystemSharedMemoryRegisterResponse {
        try await GRPCErrorMapping.mapping { try server.registerSharedMemory(.system) }
        return Inference_SystemSharedMemoryRegisterResponse()
    }

    func systemSharedMemoryUnregister(
        request: Inference_SystemSharedMemoryUnregisterRequest, context: ServerContext
    ) async throws -> Inference_SystemSharedMemoryUnregisterResponse {
        Inference_SystemSharedMemoryUnregisterResponse()
    }

    func cudaSharedMemoryStatus(
        request: Inference_CudaSharedMemoryStatusRequest, context: ServerContext
    ) async throws -> Inference_CudaSharedMemoryStatusResponse {
        Inference_CudaSharedMemoryStatusResponse()
    }

    func cudaSharedMemoryRegister(
        request: Inference_CudaSharedMemoryRegisterRequest, context: ServerContext
    ) async throws -> Inference_CudaSharedMemoryRegisterResponse {
        try await GRPCErrorMapping.mapping { try server.registerSharedMemory(.cuda) }
        return Inference_CudaSharedMemoryRegisterResponse()
    }

    func cudaSharedMemoryUnregister(
        request: Inference_CudaSharedMemoryUnregisterRequest, context: ServerContext
    ) async throws -> Inference_CudaSharedMemoryUnregisterResponse {
        Inference_CudaSharedMemoryUnregisterResponse()
    }

    // MARK: - Settings (read-only)

    func traceSetting(request: Inference_TraceSettingRequest, context: ServerContext) async throws -> Inference_TraceSettingResponse {
        try await GRPCErrorMapping.mapping {
            if !request.modelName.isEmpty {
                _ = try await server.isModelReady(request.modelName, version: nil)  // throws notFound for unknown models
            }
            guard request.settings.isEmpty else {
                throw SwerveError(.unsupported, "changing trace settings is not supported: tracing is off")
            }
            return .with { $0.settings = ServerSettings.trace }
        }
    }

    func logSettings(request: Inference_LogSettingsRequest, context: ServerContext) async throws -> Inference_LogSettingsResponse {
        try await GRPCErrorMapping.mapping {
            guard request.settings.isEmpty else {
                throw SwerveError(.unsupported, "changing log settings is not supported: use --log-level when starting the server")
            }
            return .with { $0.settings = ServerSettings.log }
        }
    }
}
