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

/// Registers ``KServeGRPCService`` with its large-message calls decoded under the size limit.
struct SizeLimitedKServeService: RegistrableRPCService {
    /// The service.
    let service: KServeGRPCService
    /// The largest request message accepted, in bytes.
    let limit: Int

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        service.registerMethods(with: &router)
        let service = self.service
        typealias Method = Inference_GRPCInferenceService.Method
        router.registerHandler(
            forMethod: Method.ModelInfer.descriptor,
            deserializer: SizeLimitedDeserializer<Method.ModelInfer.Input>(limit: limit),
            serializer: ProtobufSerializer<Method.ModelInfer.Output>()
        ) { request, context in
            try await service.modelInfer(request: request, context: context)
        }
        router.registerHandler(
            forMethod: Method.ModelStreamInfer.descriptor,
            deserializer: SizeLimitedDeserializer<Method.ModelStreamInfer.Input>(limit: limit),
            serializer: ProtobufSerializer<Method.ModelStreamInfer.Output>()
        ) { request, context in
            try await service.modelStreamInfer(request: request, context: context)
        }
        router.registerHandler(
            forMethod: Method.RepositoryModelLoad.descriptor,
            deserializer: SizeLimitedDeserializer<Method.RepositoryModelLoad.Input>(limit: limit),
            serializer: ProtobufSerializer<Method.RepositoryModelLoad.Output>()
        ) { request, context in
            try await service.repositoryModelLoad(request: request, context: context)
        }
    }
}
