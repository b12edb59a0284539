import Logging
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose client takes longer than ``HTTPConnectionLimits/headerReadTimeout``
/// to send a request's headers, counted from the request's first byte: a client that sends its
/// headers a byte a second (slowloris) holds a connection no longer than that.
///
/// Two handlers share the timer: ``Bytes`` sits at the front of the pipeline, before the HTTP
/// decoder, and starts it when bytes come while no request head is pending; ``Heads`` sits after
/// the decoder and stops it when the head is decoded, then waits for the request's end before the
/// next bytes may start it again. ``Heads`` puts ``Bytes`` in place when it is added. A connection
/// with no bytes at all is left to the idle timeout (``HTTPConnectionLimits/idleTimeout``).
/// Under TLS, ``Bytes`` sits before the TLS handler and sees the encrypted bytes, so the first
/// request's handshake counts against the timeout too.
/// The connection is closed without an answer, as nginx does at its `client_header_timeout`.
enum HTTPHeaderTimeout {
    /// The timer of one connection; touched on its event loop only.
    final class Timer {
        let timeout: TimeAmount
        /// The client may be sending a head: no head since the last request's end.
        var awaitingHead = true
        var scheduled: Scheduled<Void>?

        init(timeout: TimeAmount) {
            self.timeout = timeout
        }

        func start(_ context: ChannelHandlerContext) {
            guard awaitingHead, scheduled == nil else { return }
            let channel = context.channel
            scheduled = context.eventLoop.scheduleTask(in: timeout) {
                Logger(label: "swerve").debug(
                    "closing a connection that sent no complete request headers within the header read timeout (--http-header-read-timeout)",
                    metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "")"])
                channel.close(promise: nil)
            }
        }

        func stop() {
            scheduled?.cancel()
            scheduled = nil
        }
    }

    /// Sees the connection's bytes before the HTTP decoder: the first byte of a request starts
    /// the timer.
    final class Bytes: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        let timer: Timer

        init(timer: Timer) {
            self.timer = timer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            timer.start(context)
            context.fireChannelRead(data)
        }

        func channelInactive(context: ChannelHandlerContext) {
            timer.stop()
            context.fireChannelInactive()
        }
    }

    /// Sees the decoded requests: a head stops the timer, a request's end lets bytes start it.
    final class Heads: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        let timer: Timer

        init(timeout: TimeAmount) {
            self.timer = Timer(timeout: timeout)
        }

        func handlerAdded(context: ChannelHandlerContext) {
            do {
                try context.pipeline.syncOperations.addHandler(Bytes(timer: timer), position: .first)
            } catch {
                // A pipeline that cannot take the handler is closing already.
                context.close(promise: nil)
            }
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head:
                timer.stop()
                timer.awaitingHead = false
            case .body:
                break
            case .end:
                timer.awaitingHead = true
            }
            context.fireChannelRead(data)
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            timer.stop()
        }
    }
}
