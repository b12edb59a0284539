import GRPCCore
import GRPCProtobuf
import SwiftProtobuf

/// The request size limit, enforced so that clients get `RESOURCE_EXHAUSTED` with a message.
///
/// grpc-swift's HTTP/2 transport answers a message over its own limit by resetting the stream,
/// which clients report as `CANCELLED`. So the transport's limit is set above ours
/// (``transportLimit(for:)``) and the calls that carry large messages (inference and model
/// loading) decode their requests with ``SizeLimitedDeserializer``, which refuses a message over
/// the limit with a proper status. Only messages beyond the transport's limit are still reset.
enum MessageSizeLimit {
    /// The transport's limit for a configured limit: twice as much, at most `Int32.max`.
    static func transportLimit(for limit: Int) -> Int {
        let (doubled, overflow) = limit.multipliedReportingOverflow(by: 2)
        return overflow ? Int(Int32.max) : min(doubled, Int(Int32.max))
    }
}

/// A protobuf deserializer that refuses messages larger than `limit` with `RESOURCE_EXHAUSTED`.
struct SizeLimitedDeserializer<Message: SwiftProtobuf.Message & Sendable>: MessageDeserializer {
    /// The largest message accepted, in bytes.
    let limit: Int

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> Message {
        guard serializedMessageBytes.count <= limit else {
            throw RPCError(
                code: .resourceExhausted,
                message: "request message of \(serializedMessageBytes.count) bytes is larger than the limit of \(limit) bytes (--grpc-max-message-size)")
        }
        return try ProtobufDeserializer<Message>().deserialize(serializedMessageBytes)
    }
}

/// Registers ``KServeGRPCService`` with every call's request decoded under the size limit, so that
/// any message over `--grpc-max-message-size` gets `RESOURCE_EXHAUSTED`, as gRPC's own limit answers.
struct SizeLimitedKServeService: RegistrableRPCService {
    /// The service.
    let service: KServeGRPCService
    /// The largest request message accepted, in bytes.
    let limit: Int

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        let service = self.service
        typealias Method = Inference_GRPCInferenceService.Method
        router.register(Method.ServerLive.descriptor, limit: limit, service.serverLive(request:context:))
        router.register(Method.ServerReady.descriptor, limit: limit, service.serverReady(request:context:))
        router.register(Method.ModelReady.descriptor, limit: limit, service.modelReady(request:context:))
        router.register(Method.ServerMetadata.descriptor, limit: limit, service.serverMetadata(request:context:))
        router.register(Method.ModelMetadata.descriptor, limit: limit, service.modelMetadata(request:context:))
        // ModelInfer reads the call's timeout, to tell a passed deadline from a client's cancel.
        router.register(Method.ModelInfer.descriptor, limit: limit) { (request: StreamingServerRequest<Method.ModelInfer.Input>, context) in
            let single = try await ServerRequest(stream: request)
            let output = try await service.modelInfer(
                request: single.message, context: context, timeout: GRPCTimeoutHeader.timeout(in: single.metadata))
            return StreamingServerResponse(single: ServerResponse<Method.ModelInfer.Output>(message: output))
        }
        router.register(Method.ModelStreamInfer.descriptor, limit: limit, service.modelStreamInfer(request:context:))
        router.register(Method.ModelConfig.descriptor, limit: limit, service.modelConfig(request:context:))
        router.register(Method.ModelStatistics.descriptor, limit: limit, service.modelStatistics(request:context:))
        router.register(Method.RepositoryIndex.descriptor, limit: limit, service.repositoryIndex(request:context:))
        router.register(Method.RepositoryModelLoad.descriptor, limit: limit, service.repositoryModelLoad(request:context:))
        router.register(Method.RepositoryModelUnload.descriptor, limit: limit, service.repositoryModelUnload(request:context:))
        router.register(Method.SystemSharedMemoryStatus.descriptor, limit: limit, service.systemSharedMemoryStatus(request:context:))
        router.register(Method.SystemSharedMemoryRegister.descriptor, limit: limit, service.systemSharedMemoryRegister(request:context:))
        router.register(Method.SystemSharedMemoryUnregister.descriptor, limit: limit, service.systemSharedMemoryUnregister(request:context:))
        router.register(Method.CudaSharedMemoryStatus.descriptor, limit: limit, service.cudaSharedMemoryStatus(request:context:))
        router.register(Method.CudaSharedMemoryRegister.descriptor, limit: limit, service.cudaSharedMemoryRegister(request:context:))
        router.register(Method.CudaSharedMemoryUnregister.descriptor, limit: limit, service.cudaSharedMemoryUnregister(request:context:))
        router.register(Method.TraceSetting.descriptor, limit: limit, service.traceSetting(request:context:))
        router.register(Method.LogSettings.descriptor, limit: limit, service.logSettings(request:context:))
    }
}

extension RPCRouter {
    /// Registers one call whose request is decoded with ``SizeLimitedDeserializer``.
    fileprivate mutating func register<Input: SwiftProtobuf.Message & Sendable, Output: SwiftProtobuf.Message & Sendable>(
        _ method: MethodDescriptor, limit: Int,
        _ handler: @escaping @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) {
        registerHandler(
            forMethod: method, deserializer: SizeLimitedDeserializer<Input>(limit: limit), serializer: ProtobufSerializer<Output>(),
            handler: handler)
    }
}
