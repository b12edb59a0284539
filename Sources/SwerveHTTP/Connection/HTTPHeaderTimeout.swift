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
    ///
    /// A head's reading is noted with its start time, not with a timer of its own: one check is
    /// scheduled per connection and, when it fires, closes the connection if the head it finds
    /// has been read for the whole timeout, or re-arms itself for the deadline of the head being
    /// read, or lapses when none is. A keep-alive connection's requests therefore cost a clock read
    /// each instead of scheduling and cancelling a task each.
    final class Timer {
        let timeout: TimeAmount
        /// The client may be sending a head: no head since the last request's end.
        var awaitingHead = true
        /// When the first byte of the head being read came; nil when no head is being read.
        private var startedAt: NIODeadline?
        private var scheduled: Scheduled<Void>?

        init(timeout: TimeAmount) {
            self.timeout = timeout
        }

        func start(_ context: ChannelHandlerContext) {
            guard awaitingHead, startedAt == nil else { return }
            let now = context.eventLoop.now
            startedAt = now
            if scheduled == nil { arm(channel: context.channel, eventLoop: context.eventLoop, deadline: now + timeout) }
        }

        /// The head came: the scheduled check, if any, finds nothing to do.
        func stop() {
            startedAt = nil
        }

        /// The connection ends: no check is left behind.
        func cancel() {
            startedAt = nil
            scheduled?.cancel()
            scheduled = nil
        }

        private func arm(channel: any Channel, eventLoop: any EventLoop, deadline: NIODeadline) {
            scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
                scheduled = nil
                guard let startedAt else { return }
                let due = startedAt + timeout
                guard eventLoop.now >= due else {
                    arm(channel: channel, eventLoop: eventLoop, deadline: due)
                    return
                }
                Logger(label: "swerve").debug(
                    "closing a connection that sent no complete request headers within the header read timeout (--http-header-read-timeout)",
                    metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "")"])
                channel.close(promise: nil)
            }
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
            timer.cancel()
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
            timer.cancel()
        }
    }
}
