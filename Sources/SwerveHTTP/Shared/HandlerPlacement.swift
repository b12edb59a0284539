import HTTPTypes
import Hummingbird
import SwerveCore

/// Where a route's handler runs: on the connection's event loop (where ``EventLoopPinnedChannel``
/// starts it) or on Swift's global executor.
///
/// A handler stays on the loop when its work is short and bounded: inference, health, metadata
/// and model configuration, with a body of at most ``largeBody`` bytes, uncompressed.
/// Everything else moves to the global executor before it starts: a bigger or chunked body (JSON
/// decoding, image decoding and resizing grow with it), a compressed one (its size says nothing of
/// the work), the repository and management routes (file-system reads, waits on loads), statistics
/// and the routes of no category (`/v2/models/stats` and `/metrics` grow with the models served).
enum HandlerPlacement {
    /// The largest body a handler on the event loop takes: a tiny model's request is well under it
    /// (16×16 floats are about 3 KB of JSON), and decoding this much JSON takes tens of microseconds.
    static let largeBody = 16 * 1024

    /// Whether a request of `category` with this head may be handled on the event loop.
    static func staysOnEventLoop(_ category: RestrictedCategory?, _ head: HTTPRequest) -> Bool {
        staysOnEventLoop(category, method: head.method, RequestFields(head.headerFields))
    }

    /// Whether a request of `category` with this method and these fields may be handled on the
    /// event loop.
    static func staysOnEventLoop(_ category: RestrictedCategory?, method: HTTPRequest.Method, _ fields: RequestFields) -> Bool {
        switch category {
        case .health?, .metadata?, .inference?, .modelConfig?: break
        case .statistics?, .sharedMemory?, .modelRepository?, .trace?, .logging?, nil: return false
        }
        if fields.contentEncoding != nil { return false }
        if method == .get || method == .head { return true }
        guard let length = fields.contentLength.flatMap({ Int($0) }) else {
            return fields.transferEncoding == nil
        }
        return length <= largeBody
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
