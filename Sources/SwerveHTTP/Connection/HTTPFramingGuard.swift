import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import SwerveCore

/// Answers a request whose HTTP framing is broken (a bad request line or chunk size, a body cut
/// short by a half-close, `CONNECT`) with a 400, and headers over the limits
/// (``HTTPConnectionLimits``) with a 431, and a JSON error body, then
/// closes the connection: once the framing is lost the rest of the byte stream cannot be read.
///
/// Left to itself Hummingbird answers a parse error between requests with an empty 400 and then
/// waits for the client to close, reading nothing: a client that keeps its socket open (or is
/// still sending a megabyte of headers) held the connection for good. A parse error in the middle
/// of a body reached the route as an unknown error (500). With this handler:
/// - between requests, the handler writes the 400 itself and the parse error goes no further;
/// - during a request's body, the error goes on to the route, which answers 400 (see
///   ``ErrorResponse``), and the connection is closed after that answer; anything Hummingbird
///   writes after it is dropped;
/// - during a response to a complete request (garbage pipelined after it), the response finishes
///   and the connection is closed after it.
///
/// Closing is a lingering close: the output is shut (the client reads the answer and sees the
/// end), input is read and discarded until the client closes or ``lingerTime`` passes, then the
/// connection is closed whatever the client does, so no connection outlives it.
final class HTTPFramingGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// How long a closing connection's input is drained before the connection is closed.
    static let lingerTime: TimeAmount = .seconds(2)

    /// Where the connection is in its exchange.
    private struct Exchange {
        /// A request head has come and its end has not.
        var requestOpen = false
        /// A request head has come and the end of its response has not been written.
        var inFlight = false
        /// The framing broke during this exchange: close when its response ends.
        var closeAfterResponse = false
        /// The answer that ends the connection is written: input is discarded, output dropped.
        var closing = false
    }

    private var exchange = Exchange()
    private let errorFormat: HTTPErrorFormat

    /// - Parameter errorFormat: the error body of the listener's protocol.
    init(errorFormat: HTTPErrorFormat) {
        self.errorFormat = errorFormat
    }

    /// A short description of a parser error for the client.
    static func describe(_ error: HTTPParserError) -> String {
        switch error {
        case .headerOverflow:
            "the request's headers are larger or more numerous than the server's limits (--http-max-header-size, --http-max-header-count)"
        case .invalidEOFState: "the connection was closed before the request was complete"
        default: "\(error)"  // NIO's own words: "invalid character in chunk size header", ...
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !exchange.closing else {
            context.read()
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.method == .connect {
                // CONNECT turns the connection into a tunnel, which this server does not offer.
                refuse(context: context, code: .methodNotAllowed, message: "CONNECT is not supported")
                return
            }
            if head.headerFields[HTTPField.Name("Host")!] != nil {
                // The first Host became the authority; another one is left in the fields.
                // RFC 9112 §3.2: more than one Host field is a 400.
                refuse(context: context, code: .invalidArgument, message: "malformed HTTP request: more than one Host header")
                return
            }
            exchange.requestOpen = true
            exchange.inFlight = true
            IdleMemoryRelease.shared.noteActivity()
        case .body:
            break
        case .end:
            exchange.requestOpen = false
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError || error is ByteToMessageDecoderError else {
            context.fireErrorCaught(error)
            return
        }
        if exchange.closing {
            // The decoder reports each further read as an error: keep draining.
            context.read()
        } else if exchange.requestOpen && exchange.inFlight {
            // The route reading the body gets the error and answers 400; then close.
            exchange.requestOpen = false
            exchange.closeAfterResponse = true
            context.fireErrorCaught(error)
        } else if exchange.inFlight {
            // Garbage after a complete request: its answer goes out, then the connection closes.
            exchange.closeAfterResponse = true
        } else if exchange.requestOpen {
            // The answer went out before the body was read: nothing more to say.
            linger(context: context)
        } else {
            if let error = error as? HTTPParserError, error == .headerOverflow {
                refuse(context: context, code: .requestHeaderFieldsTooLarge, message: Self.describe(error))
                return
            }
            let reason = (error as? HTTPParserError).map(Self.describe) ?? "the request cannot be parsed"
            refuse(context: context, code: .invalidArgument, message: "malformed HTTP request: \(reason)")
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !exchange.closing else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(data, promise: promise)
        if case .end = unwrapOutboundIn(data) {
            exchange.inFlight = false
            if exchange.closeAfterResponse { linger(context: context) }
        }
    }

    /// Writes a JSON error answer with `Connection: close`, then closes.
    private func refuse(context: ChannelHandlerContext, code: SwerveError.Code, message: String) {
        let body = errorFormat.body(code: code, message: message)
        let head = HTTPResponse(status: ErrorResponse.status(for: code), headerFields: [
            .contentType: "application/json", .contentLength: String(body.count), .connection: "close",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        linger(context: context)
    }

    /// Flushes, shuts the output, drains the input for up to ``lingerTime``, then closes.
    private func linger(context: ChannelHandlerContext) {
        exchange.closing = true
        let channel = context.channel
        context.flush()
        channel.close(mode: .output, promise: nil)
        channel.eventLoop.scheduleTask(in: Self.lingerTime) { channel.close(promise: nil) }
        context.read()
    }

    func channelInactive(context: ChannelHandlerContext) {
        // A closed connection frees its buffers: worth a release when requests stop.
        IdleMemoryRelease.shared.noteActivity()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if exchange.closing, let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}
