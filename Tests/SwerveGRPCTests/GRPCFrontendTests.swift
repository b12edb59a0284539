import Foundation
import GRPCCore
import SwerveCore
import Testing

@testable import SwerveGRPC

/// The frontend's settings: the message size limit and the listening address.
struct GRPCFrontendTests {
    /// A message over the limit is refused with RESOURCE_EXHAUSTED; one at the limit is decoded.
    @Test func sizeLimitRefusesLargerMessagesWithResourceExhausted() throws {
        let message = Inference_ModelInferRequest.with {
            $0.modelName = "m"
            $0.rawInputContents = [Data(repeating: 7, count: 100)]
        }
        let bytes: [UInt8] = try message.serializedBytes()
        let decoded = try SizeLimitedDeserializer<Inference_ModelInferRequest>(limit: bytes.count).deserialize(bytes)
        #expect(decoded == message)
        let error = try #require(throws: RPCError.self) {
            try SizeLimitedDeserializer<Inference_ModelInferRequest>(limit: bytes.count - 1).deserialize(bytes)
        }
        #expect(error.code == .resourceExhausted)
        #expect(error.message.contains("--grpc-max-message-size"))
    }

    /// The transport's own limit sits above the configured one, so our check is the one clients see.
    @Test func transportLimitIsAboveTheConfiguredLimit() {
        #expect(MessageSizeLimit.transportLimit(for: 64 << 20) == 128 << 20)
        #expect(MessageSizeLimit.transportLimit(for: Int.max) == Int(Int32.max))
    }

    /// Host names resolve to the IP address the transport binds; IP addresses stay as they are.
    @Test func hostNamesResolveToIPAddresses() throws {
        #expect(try GRPCFrontend.bindAddress(host: "127.0.0.1", port: 8001) == .ipv4(host: "127.0.0.1", port: 8001))
        #expect(try GRPCFrontend.bindAddress(host: "::", port: 1) == .ipv6(host: "::", port: 1))
        let localhost = try GRPCFrontend.bindAddress(host: "localhost", port: 9)
        #expect(localhost == .ipv4(host: "127.0.0.1", port: 9) || localhost == .ipv6(host: "::1", port: 9))
        #expect(throws: SwerveError.self) { try GRPCFrontend.bindAddress(host: "no.such.host.invalid", port: 9) }
    }
}
