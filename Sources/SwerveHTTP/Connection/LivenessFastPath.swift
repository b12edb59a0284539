import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `GET /v2/health/live` on the connection's event loop, without a task or the router.
///
/// A liveness probe must answer whatever the server is doing. Routes run as tasks on Swift's
/// cooperative pool, one thread per core, where they queue behind request work (JSON parsing,
/// decompression, multipart splitting): during an attack run, liveness waited up to 180 ms there.
/// This handler answers the probe itself when the connection has no other request in progress
/// (HTTP/1.1 answers in order, so a probe behind another request takes the normal route), and
/// only while the server is live: otherwise the route answers with its 503.
final class LivenessFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// The path answered here.
    static let path = "/v2/health/live"

    private let isLive: @Sendable () -> Bool
    /// Requests passed on whose answer has not ended yet.
    private var pending = 0
    /// The parts of a request answered here are dropped until its end.
    private var swallowing = false

    /// - Parameter isLive: whether the server is live (the route's answer when not).
    init(isLive: @escaping @Sendable () -> Bool) {
        self.isLive = isLive
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            if pending == 0, head.method == .get || head.method == .head, head.path == Self.path, isLive() {
                swallowing = true
                let close = head.headerFields[.connection]?.lowercased() == "close"
                var fields: HTTPFields = [.contentLength: "0"]
                if close { fields[.connection] = "close" }
                context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: fields))), promise: nil)
                let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
                if close { written.whenComplete { _ in context.close(promise: nil) } }
                return
            }
            pending += 1
        case .body, .end:
            if swallowing {
                if case .end = part { swallowing = false }
                return
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { pending = max(0, pending - 1) }
        context.write(data, promise: promise)
    }
}
