import HTTPTypes
import Hummingbird
import NIOCore

/// A whole HTTP answer held in memory: status, fields and body. Code that answers both through
/// Hummingbird's router and directly on a connection's channel (``KServeFastPath``) builds one of
/// these, and each path writes it out.
struct HTTPAnswer: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: ByteBuffer

    /// The answer as Hummingbird's response.
    var response: Response {
        Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }
}
