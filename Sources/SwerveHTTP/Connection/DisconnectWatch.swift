import Hummingbird
import HummingbirdCore
import NIOCore
import SwerveCore
import Synchronization

/// Cancels the request in progress on an HTTP connection when its client goes away.
///
/// Hummingbird keeps running a handler whose client has gone, and Triton runs such requests to
/// the end. Swerve drops them while they wait: each inference request carries a
/// ``CancellationSignal`` that this watch fires when the client closes its side of the connection
/// (or the connection is reset), and the scheduler removes a queued request whose signal fired,
/// as nginx abandons a request whose client closed the connection. HTTP/1.1 handles one request
/// at a time per connection, so a connection has at most one signal. ``Handler`` (in every
/// connection's pipeline, see ``HTTPServerBuilder/swerveHTTP1``) reports the connection's end.
final class DisconnectWatch: Sendable {
    /// The process's watch, shared by every HTTP frontend.
    static let shared = DisconnectWatch()

    private enum Connection {
        case idle
        case busy(CancellationSignal)
        case lost
    }

    /// Connections that have had an inference request and have not closed yet.
    private let connections = Mutex<[ObjectIdentifier: Connection]>([:])

    /// The number of connections watched (for tests).
    var watchedCount: Int { connections.withLock { $0.count } }

    /// Runs `body` with a signal that fires if the client goes away before `body` returns.
    func run<T>(on channel: any Channel, _ body: (CancellationSignal) async throws -> T) async throws -> T {
        let signal = CancellationSignal()
        // A channel that is not active (closed already, or an in-process test's) reports nothing.
        guard channel.isActive else { return try await body(signal) }
        let key = ObjectIdentifier(channel)
        let lost = connections.withLock { connections -> Bool in
            if case .lost = connections[key] { return true }
            connections[key] = .busy(signal)
            return false
        }
        if lost {
            signal.cancel()
        } else if !channel.isActive {
            // Closed between the two checks: its end may have been reported before the entry
            // existed, so the entry goes now (NIO clears `isActive` before it reports the close).
            _ = connections.withLock { $0.removeValue(forKey: key) }
        }
        defer {
            connections.withLock { connections in
                if case .busy(let current) = connections[key], current === signal { connections[key] = .idle }
            }
        }
        return try await body(signal)
    }

    /// The client closed its side: the request in progress, and any later one (a request whose
    /// bytes arrived together with the close reaches its handler after this), is cancelled. The
    /// entry goes when the connection closes.
    fileprivate func inputClosed(_ key: ObjectIdentifier) {
        let signal: CancellationSignal? = connections.withLock { connections in
            let state = connections[key]
            connections[key] = .lost
            if case .busy(let signal)? = state { return signal }
            return nil
        }
        signal?.cancel()
    }

    /// The connection closed: forget it, cancelling the request in progress.
    fileprivate func closed(_ key: ObjectIdentifier) {
        if case .busy(let signal) = connections.withLock({ $0.removeValue(forKey: key) }) {
            signal.cancel()
        }
    }

    /// Reports the end of its connection to the watch; one per connection, after HTTP decoding.
    final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        /// Requests pass through untouched; only the connection's events matter here.
        typealias InboundIn = NIOAny

        private let watch: DisconnectWatch
        /// The connection has closed and its entry is gone. An `inputClosed` that the HTTP
        /// decoder passes on after that (it reports the close only once it has answered the
        /// rest of the input, which can close the connection first) must not make a new entry:
        /// a later connection reusing the channel's identity would find it and see its requests
        /// cancelled at once.
        private var closed = false

        init(watch: DisconnectWatch) {
            self.watch = watch
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if !closed, let event = event as? ChannelEvent, event == .inputClosed {
                watch.inputClosed(ObjectIdentifier(context.channel))
            }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed = true
            watch.closed(ObjectIdentifier(context.channel))
            context.fireChannelInactive()
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 as Hummingbird serves it, plus Swerve's handlers on every connection: the
    /// ``HTTPConnectionLimit`` (connections past `limits.maxConnections` get 503 and are closed),
    /// ``HTTPHeaderTimeout`` (a client slow to send its headers is disconnected),
    /// ``HTTPIdleTimeout`` (a keep-alive connection idle too long is closed), the
    /// ``DisconnectWatch`` (a client that disconnects has its queued inference request dropped),
    /// ``ExpectContinueHandler`` (`Expect: 100-continue` is answered) and ``HTTPFramingGuard``
    /// (broken framing gets a 400 JSON answer, headers over the limits a 431, and the connection
    /// is closed). Hummingbird's decoder settings give the header limits; its idle timeout is not
    /// used (see ``HTTPIdleTimeout``). Each connection is handled on its event loop
    /// (``EventLoopPinnedChannel``).
    /// - Parameters:
    ///   - maxRequestSize: the largest body the routes accept.
    ///   - errorFormat: the error body of the listener's protocol.
    ///   - fastPath: when given, liveness probes and small inference requests are answered in the
    ///     connection's pipeline (``KServeFastPath``); the KServe v2 listener gives it.
    ///   - limits: the listener's connection limits; each call makes a listener with its own count
    ///     of connections.
    public static func swerveHTTP1(
        maxRequestSize: Int, errorFormat: HTTPErrorFormat = .kserve, fastPath: KServeFastPathConfiguration? = nil,
        limits: HTTPConnectionLimits = HTTPConnectionLimits()
    ) -> HTTPServerBuilder {
        let connections = HTTPConnectionLimit(maxConnections: limits.maxConnections)
        let decoder = HTTP1Channel.Configuration.DecoderConfiguration(
            maxHeaderFieldSize: limits.maxHeaderSize, maxHeaderListSize: limits.maxHeaderSize, maxHeaderFieldCount: limits.maxHeaderCount)
        let configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                HTTPConnectionLimit.Handler(limit: connections, errorFormat: errorFormat),
                HTTPHeaderTimeout.Heads(timeout: limits.headerReadTimeout), HTTPIdleTimeout(timeout: limits.idleTimeout),
                ExpectContinueHandler(maxBodySize: maxRequestSize), DisconnectWatch.Handler(watch: .shared),
                HTTPFramingGuard(errorFormat: errorFormat),
            ] + (fastPath.map { [KServeFastPath(configuration: $0)] } ?? []),
            httpDecoderConfiguration: decoder)
        return HTTPServerBuilder { responder in
            EventLoopPinnedChannel(base: HTTP1Channel(responder: responder, configuration: configuration))
        }
    }
}
