import NIOCore
import NIOHPACK
import NIOHTTP2

/// Makes a negative `grpc-timeout` safe before grpc-swift reads it.
///
/// grpc-swift-2 parses the header with `Int64(...)` and then asserts that the amount is not
/// negative: `grpc-timeout: -1S` from any client stopped the whole process (a precondition
/// failure in GRPCCore's `Timeout`). gRPC's wire format allows only 1 to 8 digits, so a negative
/// timeout is a client's mistake; it is read as what it says, a deadline already passed: the
/// value becomes `0n`, and the call ends with DEADLINE_EXCEEDED without running. Every other
/// value passes untouched (grpc-swift ignores the other malformed ones itself).
///
/// One handler sits first in each HTTP/2 stream's pipeline (installed through the transport's
/// `onAcceptHTTP2Stream` callback) and looks only at the stream's request headers.
final class GRPCTimeoutGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload

    /// The header value that replaces a negative timeout: zero nanoseconds.
    static let expired = "0n"

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .headers(var headers) = unwrapInboundIn(data), Self.sanitize(&headers.headers) {
            context.fireChannelRead(wrapInboundOut(.headers(headers)))
            return
        }
        context.fireChannelRead(data)
    }

    /// Replaces every negative `grpc-timeout` value; returns whether any was replaced.
    static func sanitize(_ headers: inout HPACKHeaders) -> Bool {
        let values = headers[canonicalForm: "grpc-timeout"]
        guard values.contains(where: { $0.hasPrefix("-") }) else { return false }
        headers.remove(name: "grpc-timeout")
        headers.add(name: "grpc-timeout", value: expired)
        return true
    }

    /// Installs the guard first in a new stream's pipeline (on the stream's event loop).
    static func install(on channel: any Channel) throws {
        try channel.pipeline.syncOperations.addHandler(GRPCTimeoutGuard(), position: .first)
    }
}
