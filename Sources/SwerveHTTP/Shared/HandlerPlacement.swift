import HTTPTypes
import Hummingbird
import SwerveCore

/// Where a route's handler runs: on the connection's event loop (where ``EventLoopPinnedChannel``
/// starts it) or on Swift's global executor, as SwerveCore's `RequestPlacement` says.
///
/// A handler stays on the loop when its category's work is short (health, metadata, inference,
/// model configuration) and its body is at most `RequestPlacement.maxInlineBytes` bytes,
/// uncompressed. Everything else moves to the global executor before it starts: a bigger or
/// chunked body (JSON decoding, image decoding and resizing grow with it), a compressed one (its
/// size says nothing of the work), and the routes whose work is not short (repository and
/// management, statistics, `/metrics`).
enum HandlerPlacement {
    /// Whether a request of `category` with this head may be handled on the event loop.
    static func staysOnEventLoop(_ category: RestrictedCategory?, _ head: HTTPRequest) -> Bool {
        staysOnEventLoop(category, method: head.method, RequestFields(head.headerFields))
    }

    /// Whether a request of `category` with this method and these fields may be handled on the
    /// event loop.
    static func staysOnEventLoop(_ category: RestrictedCategory?, method: HTTPRequest.Method, _ fields: RequestFields) -> Bool {
        if fields.contentEncoding != nil { return false }
        guard method != .get, method != .head else { return RequestPlacement.isShortWork(category) }
        guard let length = fields.contentLength.flatMap({ Int($0) }) else {
            return fields.transferEncoding == nil && RequestPlacement.isShortWork(category)
        }
        return RequestPlacement.staysWhereRead(category, bytes: length)
    }

    /// `handler` as it runs for `category`: as it is when the request may stay on the event loop,
    /// otherwise on the global executor.
    static func placing(_ category: RestrictedCategory?, _ handler: @escaping RouteTable.Handler) -> RouteTable.Handler {
        { request, context in
            if staysOnEventLoop(category, request.head) { return try await handler(request, context) }
            return try await withTaskExecutorPreference(globalConcurrentExecutor) { try await handler(request, context) }
        }
    }
}
