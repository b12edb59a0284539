import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2
import SwerveCore
import SwiftProtobuf

/// Answers small unary `ModelInfer` calls in their HTTP/2 stream's channel pipeline, below
/// grpc-swift's per-call machinery (its router, interceptors, request and response sequences,
/// and the tasks that drive them), which costs several times the translation and the model's run
/// for a tiny model.
///
/// One handler sits first in each stream's pipeline (installed through the transport's
/// `onAcceptHTTP2Stream` callback, ``install(on:configuration:)``). It takes a stream only when
/// its request is the plain case that grpc-swift would hand to ``KServeGRPCService``'s
/// `ModelInfer` unchanged:
///
/// - `POST` to `/inference.GRPCInferenceService/ModelInfer`, `content-type` `application/grpc`
///   (or `application/grpc+proto`), no `grpc-encoding` other than `identity`;
/// - its one message, uncompressed, of at most `RequestPlacement.maxInlineBytes` bytes and within the
///   configured message limit, so that the handler would run on the event loop anyway.
///
/// The request headers are held until the first message's length prefix has arrived. A stream
/// that is not taken is handed on, headers and bytes in order, and the handler leaves the
/// pipeline: grpc-swift answers it as before. A stream that is taken is answered with
/// `KServeGRPCService.infer`, the same step the service's `ModelInfer` runs, on the loop that read
/// it; failures get the status and message that ``GRPCErrorMapping`` gives the service's.
/// A stream reset by the client cancels its request. A `grpc-timeout` counts from the headers'
/// arrival: when it passes, the request is cancelled (it leaves the model's queue if it has not
/// started) and the call ends with DEADLINE_EXCEEDED, as the service ends it. A deadline that
/// passes while the message is still arriving is acted on once it has arrived.
final class GRPCInferFastPath: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// What the handler needs to answer: the server, the largest message the service accepts and
    /// the executor of the gRPC listener's event loops.
    struct Configuration: Sendable {
        var server: InferenceServer
        var maxMessageSize: Int
        var executor: EventLoopGroupTaskExecutor
    }

    /// The path of the call the handler answers.
    static let path = "/inference.GRPCInferenceService/ModelInfer"

    private let configuration: Configuration
    private var state = State.waitingForHeaders
    /// When the call's `grpc-timeout` runs out, counted from its headers' arrival.
    private var deadline: ContinuousClock.Instant?
    /// The check that cancels the request at the deadline.
    private var deadlineCheck: Scheduled<Void>?

    /// A call's answer: the response message, framed, or a failure's status.
    enum Answer: Sendable {
        case message(ByteBuffer)
        case status(RPCError)
    }

    private enum State {
        case waitingForHeaders
        /// The request headers (and maybe flow control frames) arrived, held; the length of the
        /// message is not known yet.
        case deciding(held: [HTTP2Frame.FramePayload], bytes: ByteBuffer)
        /// The stream is this handler's; its message is being gathered.
        case gathering(bytes: ByteBuffer, length: Int)
        /// The request was read; its answer is being worked out.
        case answering(CancellationSignal)
        /// The answer was written, or the stream failed.
        case done
    }

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Installs the handler first in a new stream's pipeline.
    static func install(on channel: any Channel, configuration: Configuration) throws {
        try channel.pipeline.syncOperations.addHandler(GRPCInferFastPath(configuration: configuration), position: .first)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch state {
        case .waitingForHeaders:
            guard case .headers(let headers) = frame, !headers.endStream, let call = Self.plainInferCall(headers.headers) else {
                return handOn([frame], context: context)
            }
            deadline = call.timeout.map { ContinuousClock.now + $0 }
            state = .deciding(held: [frame], bytes: context.channel.allocator.buffer(capacity: 0))
        case .deciding(var held, var bytes):
            guard case .data(let payload) = frame, case .byteBuffer(var buffer) = payload.data else {
                // Flow control and priority frames wait with the headers; anything else is grpc-swift's.
                switch frame {
                case .windowUpdate, .priority:
                    held.append(frame)
                    state = .deciding(held: held, bytes: bytes)
                    return
                default:
                    return handOn(held + [frame], context: context)
                }
            }
            bytes.writeBuffer(&buffer)
            guard let (compressed, length) = Self.prefix(of: bytes) else {
                if payload.endStream { return handOn(held + [.data(.init(data: .byteBuffer(bytes), endStream: true))], context: context) }
                state = .deciding(held: held, bytes: bytes)
                return
            }
            guard compressed == 0, length <= min(RequestPlacement.maxInlineBytes, configuration.maxMessageSize) else {
                return handOn(held + [.data(.init(data: .byteBuffer(bytes), endStream: payload.endStream))], context: context)
            }
            state = .gathering(bytes: bytes, length: length)
            if payload.endStream { requestEnded(context: context) }
        case .gathering(var bytes, let length):
            switch frame {
            case .data(let payload):
                if case .byteBuffer(var buffer) = payload.data { bytes.writeBuffer(&buffer) }
                state = .gathering(bytes: bytes, length: length)
                // Bytes past the one message are not gathered: the call is answered at once.
                if payload.endStream || bytes.readableBytes > 5 + length { requestEnded(context: context) }
            case .headers(let trailers) where trailers.endStream:
                requestEnded(context: context)
            default:
                break
            }
        case .answering, .done:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .answering(let signal) = state { signal.cancel() }
        deadlineCheck?.cancel()
        state = .done
        context.fireChannelInactive()
    }

    /// Passes `frames` on to grpc-swift and leaves the pipeline.
    private func handOn(_ frames: [HTTP2Frame.FramePayload], context: ChannelHandlerContext) {
        state = .done
        for frame in frames { context.fireChannelRead(wrapInboundOut(frame)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// The request has ended: answers it.
    private func requestEnded(context: ChannelHandlerContext) {
        guard case .gathering(var bytes, let length) = state else { return }
        // A unary call has exactly one message; grpc-swift answers anything else as here.
        guard bytes.readableBytes == 5 + length else {
            state = .done
            let message = bytes.readableBytes < 5 + length ? "Empty stream." : "Too many messages."
            return write(.status(RPCError(code: .internalError, message: message)), context: context)
        }
        bytes.moveReaderIndex(forwardBy: 5)
        let signal = CancellationSignal()
        state = .answering(signal)
        if let deadline {
            let left = deadline - ContinuousClock.now
            if left <= .zero {
                signal.cancel()
            } else {
                deadlineCheck = context.eventLoop.scheduleTask(in: TimeAmount(left)) { signal.cancel() }
            }
        }
        start(bytes, cancellation: signal, context: context)
    }

    /// Starts the task that answers the request message in `message`.
    private func start(_ message: ByteBuffer, cancellation signal: CancellationSignal, context: ChannelHandlerContext) {
        let server = configuration.server
        let allocator = context.channel.allocator
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let executor = configuration.executor
        let deadline = self.deadline
        Task(executorPreference: executor) {
            let answer = await GRPCInferFastPath.answer(
                message, server: server, cancellation: signal, deadline: deadline, allocator: allocator)
            if loop.inEventLoop {
                bound.value.0.finish(answer, context: bound.value.1)
            } else {
                loop.execute { bound.value.0.finish(answer, context: bound.value.1) }
            }
        }
    }

    /// The answer to the request message in `bytes`: the response message, framed, or the status.
    static func answer(
        _ bytes: ByteBuffer, server: InferenceServer, cancellation: CancellationSignal, deadline: ContinuousClock.Instant?,
        allocator: ByteBufferAllocator
    ) async -> Answer {
        do {
            let request = try decode(bytes)
            let response = try await KServeGRPCService.infer(request, server: server, cancellation: cancellation)
            return .message(try frame(response, allocator: allocator))
        } catch {
            return .status(GRPCErrorMapping.rpcError(for: KServeGRPCService.deadlineError(error, deadline: deadline)))
        }
    }

    private func finish(_ answer: Answer, context: ChannelHandlerContext) {
        guard case .answering = state else { return }
        state = .done
        deadlineCheck?.cancel()
        write(answer, context: context)
    }

    /// Writes the answer: headers, the message and trailers with status 0, or, for a failure,
    /// headers that carry the status (gRPC's trailers-only answer).
    private func write(_ answer: Answer, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        switch answer {
        case .message(let message):
            context.write(wrapOutboundOut(.headers(.init(headers: Self.responseHeaders))), promise: nil)
            context.write(wrapOutboundOut(.data(.init(data: .byteBuffer(message)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: Self.okTrailers, endStream: true))), promise: nil)
        case .status(let status):
            var headers = Self.responseHeaders
            status.appendTrailers(to: &headers)
            context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: headers, endStream: true))), promise: nil)
        }
    }

    // MARK: - Wire format

    static let responseHeaders: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
    static let okTrailers: HPACKHeaders = ["grpc-status": "0"]

    /// What the handler needs from the headers of a call it takes.
    struct Call {
        /// The call's `grpc-timeout`, when it has one in gRPC's format; a negative one is zero
        /// (``GRPCTimeoutGuard``).
        var timeout: Duration?
    }

    /// The call `headers` ask for, when it is the plain `ModelInfer` call this handler answers.
    static func plainInferCall(_ headers: HPACKHeaders) -> Call? {
        var path = false, post = false, contentType = false
        var call = Call()
        for (name, value, _) in headers {
            switch name {
            case ":path": path = value == Self.path
            case ":method": post = value == "POST"
            case "content-type": contentType = value == "application/grpc" || value == "application/grpc+proto"
            case "grpc-timeout":
                if call.timeout == nil {
                    call.timeout = GRPCTimeoutHeader.timeout(value.hasPrefix("-") ? GRPCTimeoutGuard.expired : value)
                }
            case "grpc-encoding": if value != "identity" { return nil }
            default: break
            }
        }
        return path && post && contentType ? call : nil
    }

    /// The compressed flag and length of the message that `bytes` start with, once its 5-byte
    /// prefix has arrived.
    static func prefix(of bytes: ByteBuffer) -> (compressed: UInt8, length: Int)? {
        guard let compressed = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self),
              let length = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt32.self)
        else { return nil }
        return (compressed, Int(length))
    }

    /// The request message, or the error grpc-swift's protobuf deserializer gives.
    static func decode(_ bytes: ByteBuffer) throws -> Inference_ModelInferRequest {
        do {
            return try Inference_ModelInferRequest(serializedBytes: ProtobufBytes(buffer: bytes))
        } catch {
            throw RPCError(code: .invalidArgument, message: "Can't deserialize to message of type \(Inference_ModelInferRequest.self).")
        }
    }

    /// The response message with its 5-byte prefix (not compressed, length).
    static func frame(_ response: Inference_ModelInferResponse, allocator: ByteBufferAllocator) throws -> ByteBuffer {
        let bytes: [UInt8] = try response.serializedBytes()
        var buffer = allocator.buffer(capacity: 5 + bytes.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(bytes.count))
        buffer.writeBytes(bytes)
        return buffer
    }
}

/// A `ByteBuffer`'s readable bytes as SwiftProtobuf reads and writes messages, without a copy.
struct ProtobufBytes: SwiftProtobufContiguousBytes {
    var buffer: ByteBuffer

    init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    init(repeating byte: UInt8, count: Int) {
        buffer = ByteBuffer(repeating: byte, count: count)
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        buffer = ByteBuffer(bytes: sequence)
    }

    var count: Int { buffer.readableBytes }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes(body)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeMutableReadableBytes(body)
    }
}
