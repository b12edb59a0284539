import HTTPTypes
import NIOCore
import NIOHTTPTypes
import SwerveCore
import Synchronization

/// Holds a listener's open connections to ``HTTPConnectionLimits/maxConnections``: a connection
/// past the limit is answered `503 Service Unavailable` with `Connection: close`, `Retry-After`
/// and an error body naming `--http-max-connections`, and closed. It never reaches a route and is
/// not counted; its output is shut after the answer and it is closed when the client closes, or
/// after ``refusedLingerTime`` at most, so refused connections do not pile up.
final class HTTPConnectionLimit: Sendable {
    /// How long a refused connection's input is drained (so that the client reads the answer
    /// rather than a reset) before it is closed.
    static let refusedLingerTime: TimeAmount = .seconds(1)

    /// The most connections held open.
    let maxConnections: Int
    private let open = Atomic<Int>(0)

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    /// The connections open now (for tests).
    var openCount: Int { open.load(ordering: .relaxed) }

    /// Counts one more connection unless the listener holds its maximum.
    fileprivate func enter() -> Bool {
        if open.wrappingAdd(1, ordering: .relaxed).newValue > maxConnections {
            open.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    fileprivate func leave() {
        open.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Counts its connection in, or refuses it; first of Swerve's handlers on every connection.
    final class Handler: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        private enum State {
            case new, counted, refused, closed
        }

        private let limit: HTTPConnectionLimit
        private let errorFormat: HTTPErrorFormat
        private var state = State.new

        init(limit: HTTPConnectionLimit, errorFormat: HTTPErrorFormat) {
            self.limit = limit
            self.errorFormat = errorFormat
        }

        func handlerAdded(context: ChannelHandlerContext) {
            if context.channel.isActive { admit(context: context) }
        }

        func channelActive(context: ChannelHandlerContext) {
            admit(context: context)
            context.fireChannelActive()
        }

        private func admit(context: ChannelHandlerContext) {
            guard case .new = state else { return }
            if limit.enter() {
                state = .counted
            } else {
                state = .refused
                refuse(context: context)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            if case .counted = state { limit.leave() }
            state = .closed
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .refused = state else {
                context.fireChannelRead(data)
                return
            }
            context.read()  // discard: the refusal is written
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            guard case .refused = state else {
                context.fireErrorCaught(error)
                return
            }
            context.read()
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            guard case .refused = state else {
                context.write(data, promise: promise)
                return
            }
            promise?.fail(ChannelError.ioOnClosedChannel)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case .refused = state, let event = event as? ChannelEvent, event == .inputClosed {
                context.close(promise: nil)
            }
            context.fireUserInboundEventTriggered(event)
        }

        /// Writes the 503, shuts the output, and closes when the client does or the linger ends.
        private func refuse(context: ChannelHandlerContext) {
            let message = "the server holds the maximum of \(limit.maxConnections) connections on this port (--http-max-connections); retry later"
            let body = errorFormat.body(code: .unavailable, message: message)
            let head = HTTPResponse(status: ErrorResponse.status(for: .unavailable), headerFields: [
                .contentType: "application/json", .contentLength: String(body.count), .connection: "close", .retryAfter: "1",
            ])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            context.flush()
            let channel = context.channel
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: HTTPConnectionLimit.refusedLingerTime) { channel.close(promise: nil) }
            context.read()
        }
    }
}
