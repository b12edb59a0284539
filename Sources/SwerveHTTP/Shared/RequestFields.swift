import HTTPTypes

/// The request fields that decide where a request is handled (``HandlerPlacement``) and how an
/// inference request's body is read and answered (``KServeInference``), read in one pass over the
/// request's fields. Each lookup by name in `HTTPFields` walks every field and joins repeated
/// values; a small inference request asked for seven of them, a twentieth of its cost.
struct RequestFields: Sendable {
    var contentLength: String?
    var contentEncoding: String?
    var transferEncoding: String?
    var connection: String?
    var acceptEncoding: String?
    /// Triton's `Inference-Header-Content-Length`.
    var inferenceHeaderContentLength: String?

    /// Reads the fields; a field given more than once has its values joined with ", ", as
    /// `HTTPFields`' subscript joins them.
    init(_ fields: HTTPFields) {
        for field in fields {
            switch field.name {
            case .contentLength: Self.add(field.value, to: &contentLength)
            case .contentEncoding: Self.add(field.value, to: &contentEncoding)
            case .transferEncoding: Self.add(field.value, to: &transferEncoding)
            case .connection: Self.add(field.value, to: &connection)
            case .acceptEncoding: Self.add(field.value, to: &acceptEncoding)
            case .inferenceHeaderContentLength: Self.add(field.value, to: &inferenceHeaderContentLength)
            default: break
            }
        }
    }

    private static func add(_ value: String, to slot: inout String?) {
        if let first = slot {
            slot = first + ", " + value
        } else {
            slot = value
        }
    }

    /// Whether the client asked for the connection to close after this request's answer.
    var asksToClose: Bool { connection?.lowercased() == "close" }
}
