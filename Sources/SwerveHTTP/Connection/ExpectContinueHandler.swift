import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with `100 Continue`, so that clients that ask before they send
/// a body (`curl -T image.jpg`, `curl --data-binary` with a large file) send it at once instead of
/// waiting a second for an answer that never comes; Hummingbird sends none by itself.
///
/// A request whose declared length is over the size limit gets no `100 Continue`: its route
/// answers 413 without the body being sent.
final class ExpectContinueHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private let maxBodySize: Int

    /// - Parameter maxBodySize: the largest body the routes accept (`--max-request-size`).
    init(maxBodySize: Int) {
        self.maxBodySize = maxBodySize
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = Self.unwrapInboundIn(data),
           let expect = head.headerFields[.expect], expect.lowercased() == "100-continue",
           head.headerFields[.contentLength].flatMap(Int.init).map({ $0 <= maxBodySize }) ?? true {
            context.writeAndFlush(Self.wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }
}
