import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwerveCore

/// A response (200 unless said) with a JSON body written by ``JSONWriter``.
func jsonResponse(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// Decodes a small JSON body (settings, index and load requests) after checking its nesting;
/// decoding errors are 400 with the path to the bad value. The one way the HTTP frontends read
/// JSON, apart from the inference bodies, which have parsers of their own; a body of no fixed
/// shape is read as a ``JSONValue``.
func decodeJSON<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
    try JSONNesting.check(body)
    do {
        return try JSONDecoder().decode(type, from: Data(body))
    } catch let error as DecodingError {
        throw SwerveError.invalid("invalid JSON body: \(JSONErrorDescription.describe(error))")
    }
}

/// The model name and optional version of a route with `:model` and `:version` segments; the
/// version text is read by the core's one rule (``ModelVersionText``).
func modelAndVersion(_ context: SwerveRequestContext) throws -> (String, Int?) {
    let name = context.parameters.get("model") ?? ""
    return (name, try ModelVersionText.parse(context.parameters.get("version"), model: name))
}
