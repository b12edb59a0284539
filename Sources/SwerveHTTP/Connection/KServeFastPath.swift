import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTPTypes
import SwerveCore

/// Answers the KServe v2 listener's two hottest requests in the connection's channel pipeline,
/// without Hummingbird's router, its per-request task machinery or its body stream:
///
/// - `GET /v2/health/live`, at once on the event loop, with `Date` and `Server` as Hummingbird
///   answers. A liveness probe must answer whatever the server is doing; it answers here while the
///   server is live (otherwise the route answers with its 503).
/// - a small inference request (`POST /v2/models/{model}[/versions/{version}]/infer` whose body
///   has a `Content-Length` and would be handled on the loop by the route, see
///   ``HandlerPlacement``): its body is gathered here and one task, on the connection's event
///   loop, answers it with ``KServeInference``, the same translation the route uses, so the
///   answer has the route's status, fields (`Date` and `Server` included) and body. A model that
///   runs inline runs on the loop; any other waits for its instance thread as over the route.
///
/// Everything else goes on to Hummingbird untouched. HTTP/1.1 answers in order, so a request is
/// taken here only when the connection has no request in progress in Hummingbird; requests
/// pipelined behind one taken here are held (and the socket is not read) until its answer is
/// written, then go on in order. The client's half-close and the server's quiesce request are held
/// the same way, so neither ends the connection under an answer still to come.
final class KServeFastPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    typealias Configuration = KServeFastPathConfiguration

    /// The liveness path.
    static let livenessPath = "/v2/health/live"

    private let configuration: Configuration
    /// Requests passed on to Hummingbird whose answer has not ended yet.
    private var pending = 0
    private var state = State.idle
    /// What arrived while an answer of this handler is still to come, in order.
    private var held: [Held] = []
    /// A `read` asked for while an answer is still to come.
    private var readHeld = false
    private var executor: EventLoopTaskExecutor?

    private enum State {
        case idle
        /// A liveness probe was answered: its remaining parts are dropped.
        case swallowing
        /// An inference request's body is being gathered.
        case gathering(Gathered)
        /// An inference request is being answered.
        case answering(closeAfter: Bool)
    }

    private struct Gathered {
        var inference: KServeInference
        var model: String
        var version: Int?
        var fields: RequestFields
        var body: [UInt8]
    }

    private enum Held {
        case part(HTTPRequestPart)
        case event(Any)
    }

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    func handlerAdded(context: ChannelHandlerContext) {
        executor = EventLoopTaskExecutor.of(context.eventLoop)
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        read(unwrapInboundIn(data), context: context)
    }

    private func read(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch state {
        case .answering:
            held.append(.part(part))
            return
        case .swallowing:
            if case .end = part { state = .idle }
            return
        case .gathering(var gathered):
            switch part {
            case .body(let buffer):
                state = .idle  // no copy-on-write of the body while appending
                gathered.body.append(contentsOf: buffer.readableBytesView)
                state = .gathering(gathered)
            case .end:
                answer(gathered, context: context)
            case .head:
                // The HTTP decoder ends a request before the next head; answer what was gathered.
                answer(gathered, context: context)
                read(part, context: context)
            }
            return
        case .idle:
            break
        }
        if case .head(let head) = part, pending == 0 {
            if let isLive = configuration.isLive, head.method == .get || head.method == .head, head.path == Self.livenessPath, isLive() {
                state = .swallowing
                answerLiveness(close: head.headerFields[.connection]?.lowercased() == "close", context: context)
                return
            }
            if let inference = configuration.inference, let gathered = inferenceRequest(head, inference: inference) {
                state = .gathering(gathered)
                return
            }
        }
        if case .head = part { pending += 1 }
        context.fireChannelRead(wrapInboundOut(part))
    }

    /// A parse error in the body of a request being gathered here is answered as the route
    /// answers it (400, and the connection closes); any other error goes on.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard case .gathering(let gathered) = state else {
            context.fireErrorCaught(error)
            return
        }
        state = .answering(closeAfter: gathered.fields.asksToClose)
        finish(ErrorResponse.answer(for: error, format: .kserve), context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if isBusy, holds(event) {
            held.append(.event(event))
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The client's half-close and the server's request to quiesce would let Hummingbird close the
    /// connection, which it sees as idle, before this handler's answer is written.
    private func holds(_ event: Any) -> Bool {
        if let event = event as? ChannelEvent, event == .inputClosed { return true }
        return event is ChannelShouldQuiesceEvent
    }

    private var isBusy: Bool {
        switch state {
        case .gathering, .answering: true
        case .idle, .swallowing: false
        }
    }

    // MARK: - Outbound

    func read(context: ChannelHandlerContext) {
        if case .answering = state {
            readHeld = true
            return
        }
        context.read()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { pending = max(0, pending - 1) }
        context.write(data, promise: promise)
    }

    // MARK: - Liveness

    private func answerLiveness(close: Bool, context: ChannelHandlerContext) {
        var fields: HTTPFields = [.contentLength: "0", .date: HTTPDate.now()]
        if let serverName = configuration.serverName { fields.append(HTTPField(name: .server, value: serverName)) }
        if close { fields.append(HTTPField(name: .connection, value: "close")) }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .ok, headerFields: fields))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
    }

    // MARK: - Inference

    /// The request's model and version when it is an inference request small and plain enough to
    /// answer here; nil sends it to the route.
    private func inferenceRequest(_ head: HTTPRequest, inference: KServeInference) -> Gathered? {
        guard head.method == .post, let path = head.path, path.utf8.last == UInt8(ascii: "r") else { return nil }
        // The requests a route would handle on the loop (HandlerPlacement), with a declared length
        // the listener accepts.
        let fields = RequestFields(head.headerFields)
        guard HandlerPlacement.staysOnEventLoop(.inference, method: head.method, fields),
              let length = fields.contentLength.flatMap(Int.init), length <= configuration.maxRequestSize
        else { return nil }
        if let connection = fields.connection?.lowercased(), connection != "close", connection != "keep-alive" { return nil }
        // Only the exact two paths, without a query, escapes or empty segments: anything else keeps
        // the router's own matching and decoding.
        guard !path.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "?") }) else { return nil }
        let segments = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard segments.count == 5 || segments.count == 7, segments[0].isEmpty,
              segments[1].elementsEqual("v2".utf8), segments[2].elementsEqual("models".utf8),
              segments.last!.elementsEqual("infer".utf8), !segments[3].isEmpty
        else { return nil }
        var version: Int?
        if segments.count == 7 {
            guard segments[4].elementsEqual("versions".utf8), let number = Int(Substring(segments[5])), number >= 0,
                  String(number) == Substring(segments[5])
            else { return nil }
            version = number
        }
        var body: [UInt8] = []
        body.reserveCapacity(length)
        return Gathered(inference: inference, model: String(Substring(segments[3])), version: version, fields: fields, body: body)
    }

    private func answer(_ gathered: Gathered, context: ChannelHandlerContext) {
        let inference = gathered.inference
        let executor = self.executor ?? EventLoopTaskExecutor.of(context.eventLoop)
        state = .answering(closeAfter: gathered.fields.asksToClose)
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let channel = context.channel
        let logger = configuration.logger
        let tag = RequestID()
        Task(executorPreference: executor) {
            let answer = await inference.answer(
                model: gathered.model, version: gathered.version, fields: gathered.fields, channel: channel, logger: logger,
                requestTag: tag.description
            ) {
                gathered.body
            }
            if loop.inEventLoop {
                bound.value.0.finish(answer, context: bound.value.1)
            } else {
                loop.execute { bound.value.0.finish(answer, context: bound.value.1) }
            }
        }
    }

    /// Writes the answer, then lets what was held go on in order.
    private func finish(_ answer: HTTPAnswer, context: ChannelHandlerContext) {
        guard case .answering(let closeAfter) = state else { return }
        guard context.channel.isActive else {
            state = .idle
            held.removeAll()
            return
        }
        // The answer has none of these fields: appending them spares a search for each.
        var fields = answer.headers
        let close = closeAfter || fields[.connection]?.lowercased() == "close"
        fields.append(HTTPField(name: .contentLength, value: String(answer.body.readableBytes)))
        fields.append(HTTPField(name: .date, value: HTTPDate.now()))
        if let serverName = configuration.serverName { fields.append(HTTPField(name: .server, value: serverName)) }
        if closeAfter, fields[.connection] == nil { fields.append(HTTPField(name: .connection, value: "close")) }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: fields))), promise: nil)
        if answer.body.readableBytes > 0 { context.write(wrapOutboundOut(.body(answer.body)), promise: nil) }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        state = .idle
        if close {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            held.removeAll()
            return
        }
        let replay = held
        held.removeAll()
        for item in replay {
            switch item {
            case .part(let part): read(part, context: context)
            case .event(let event): userInboundEventTriggered(context: context, event: event)
            }
        }
        // Hummingbird's channel hands what it was given to its request loop on a read's end.
        if !replay.isEmpty { context.fireChannelReadComplete() }
        if readHeld, !isAnswering {
            readHeld = false
            context.read()
        }
    }

    private var isAnswering: Bool {
        if case .answering = state { return true }
        return false
    }
}

/// What the KServe v2 listener answers in its connections' pipelines (``KServeFastPath``); made by
/// ``KServeRoutes/fastPath(restrictions:serverName:logger:)``.
public struct KServeFastPathConfiguration: Sendable {
    /// Whether the server is live; nil: liveness goes to the route (its category is restricted).
    var isLive: (@Sendable () -> Bool)?
    /// The inference translation; nil: inference goes to the route (its category is restricted).
    var inference: KServeInference?
    /// The listener's largest request body.
    var maxRequestSize: Int
    /// The `Server` field of every answer, as Hummingbird's configuration gives it.
    var serverName: String?
    /// The logger of inference requests answered here.
    var logger: Logger
}

extension KServeRoutes {
    /// The fast path of these routes' listener: liveness unless the `health` category is
    /// restricted, small inference requests unless `inference` is (a restricted category's key is
    /// checked by its route).
    /// - Parameters:
    ///   - serverName: the listener's `Server` field (Hummingbird's `serverName`).
    ///   - logger: the logger of the requests answered on the fast path.
    public func fastPath(restrictions: RestrictedFeatures, serverName: String?, logger: Logger) -> KServeFastPathConfiguration {
        let server = self.server
        return KServeFastPathConfiguration(
            isLive: restrictions.restricts(.health) ? nil : { @Sendable in server.isLive },
            inference: restrictions.restricts(.inference) ? nil : inference,
            maxRequestSize: options.maxRequestSize, serverName: serverName, logger: logger)
    }
}
