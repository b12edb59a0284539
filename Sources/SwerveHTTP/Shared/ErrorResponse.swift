import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import SwerveCore

/// The error body of a listener's protocol.
public enum HTTPErrorFormat: Sendable {
    /// `{"error": "..."}`: KServe v2, TF Serving, metrics.
    case kserve
    /// `{"code": 400, "type": "BadRequestException", "message": "..."}`: TorchServe.
    case torchServe

    /// The JSON body of one error.
    func body(code: SwerveError.Code, message: String) -> [UInt8] {
        var writer = JSONWriter()
        write(code: code, message: message, to: &writer)
        return writer.bytes
    }

    /// Writes one error's JSON, also used for one failed item of a TorchServe batch.
    func write(code: SwerveError.Code, message: String, to writer: inout JSONWriter) {
        switch self {
        case .kserve:
            writer.raw("{\"error\":")
            writer.string(message)
            writer.raw("}")
        case .torchServe:
            writer.raw("{\"code\":\(code.status.http),\"type\":")
            writer.string(code.status.torchServeType)
            writer.raw(",\"message\":")
            writer.string(message)
            writer.raw("}")
        }
    }
}

/// Turns every failure into an HTTP answer: the status comes from the core's one table
/// (``ErrorStatus``, through the error's ``SwerveError/Code``), the body is the listener's
/// ``HTTPErrorFormat``. Errors raised outside the core (Hummingbird's, JSON decoding's, NIO's
/// HTTP parser's) are first given the core code that says the same. Requests that never reach a
/// route (broken framing, `CONNECT`) are refused by ``HTTPFramingGuard`` with the same table.
enum ErrorResponse {
    /// The HTTP status for a core error code.
    static func status(for code: SwerveError.Code) -> HTTPResponse.Status {
        HTTPResponse.Status(code: code.status.http)
    }

    /// An error answer.
    static func make(code: SwerveError.Code, message: String, format: HTTPErrorFormat, headers: HTTPFields = [:]) -> Response {
        answer(code: code, message: message, format: format, headers: headers).response
    }

    /// The answer for any error thrown while handling a request.
    static func make(for error: any Error, format: HTTPErrorFormat) -> Response {
        answer(for: error, format: format).response
    }

    /// An error answer, held in memory.
    static func answer(code: SwerveError.Code, message: String, format: HTTPErrorFormat, headers: HTTPFields = [:]) -> HTTPAnswer {
        var fields = headers
        fields[.contentType] = "application/json"
        return HTTPAnswer(status: status(for: code), headers: fields, body: ByteBuffer(bytes: format.body(code: code, message: message)))
    }

    /// The answer for any error thrown while handling a request, held in memory.
    static func answer(for error: any Error, format: HTTPErrorFormat) -> HTTPAnswer {
        let (code, message, headers) = describe(error)
        return answer(code: code, message: message, format: format, headers: headers)
    }

    /// The core code, message and extra headers of any error thrown while handling a request.
    /// Errors the client caused are 4xx whichever layer raised them.
    static func describe(_ error: any Error) -> (code: SwerveError.Code, message: String, headers: HTTPFields) {
        switch error {
        case let error as SwerveError:
            var headers = headers(for: error.code)
            // RFC 9110 §10.2.3: whole seconds, rounded up so that a retry finds what it waits for.
            if let wait = error.retryAfter { headers[.retryAfter] = String(retryAfterSeconds(wait)) }
            return (error.code, error.message, headers)
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge:
                return (.payloadTooLarge, "request body is larger than the server's limit", headers(for: .payloadTooLarge))
            case .notFound:
                return (.notFound, "Not Found", error.headers)
            case .methodNotAllowed:
                return (.methodNotAllowed, "Method Not Allowed", error.headers)
            case _ where error.status.kind == .clientError:
                return (.invalidArgument, error.body ?? error.status.reasonPhrase, error.headers)
            default:
                return (.internal, error.body ?? error.status.reasonPhrase, error.headers)
            }
        case let error as DecodingError:
            return (.invalidArgument, "invalid JSON body: \(JSONErrorDescription.describe(error))", [:])
        case let error as HTTPParserError where error == .headerOverflow:
            // Trailers over the limits, met while a route reads the body.
            return (.requestHeaderFieldsTooLarge, HTTPFramingGuard.describe(error), [.connection: "close"])
        case let error as HTTPParserError:
            // The framing is broken, so the rest of the connection cannot be read: HTTPFramingGuard
            // closes it after this answer.
            return (.invalidArgument, "malformed HTTP request: \(HTTPFramingGuard.describe(error))", [.connection: "close"])
        case is ByteToMessageDecoderError:
            return (.invalidArgument, "malformed HTTP request", [.connection: "close"])
        default:
            return (.internal, "internal error: \(error)", [:])
        }
    }

    /// `Retry-After`'s whole seconds for a wait: rounded up, at least 1.
    static func retryAfterSeconds(_ wait: Duration) -> Int64 {
        let (seconds, attoseconds) = wait.components
        return max(1, seconds + (attoseconds > 0 ? 1 : 0))
    }

    /// Headers every answer with `code` carries.
    private static func headers(for code: SwerveError.Code) -> HTTPFields {
        switch code {
        case .unavailable, .tooManyRequests: [.retryAfter: "1"]
        // The unread rest of an oversized body makes the connection useless: close it.
        case .payloadTooLarge: [.connection: "close"]
        // RFC 9110 §15.5.16: say which codings are understood.
        case .unsupportedMediaType: [.acceptEncoding: Compression.acceptedEncodings]
        default: [:]
        }
    }
}

/// Catches errors from every route (and from unmatched paths) and answers them with
/// ``ErrorResponse`` in the listener's format; a known path asked with the wrong method gets 405.
/// The one error middleware of every HTTP listener.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The routes, whose path patterns (`:name` segments match any one segment) tell 405 from 404.
    let routes: RouteTable
    /// The listener's error body.
    let format: HTTPErrorFormat

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            if routes.knowsPath(request.uri.path) {
                return ErrorResponse.make(code: .methodNotAllowed, message: "Method Not Allowed", format: format)
            }
            let message = format == .torchServe ? "Requested resource is not found, please refer to API document." : "Not Found"
            return ErrorResponse.make(code: .notFound, message: message, format: format)
        } catch {
            context.logger.debug("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            let response = ErrorResponse.make(for: error, format: format)
            if response.status == .contentTooLarge { (context as? SwerveRequestContext)?.closeConnectionSoon() }
            return response
        }
    }
}

/// Describes a JSON decoding error in a sentence with the path to the bad value.
enum JSONErrorDescription {
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let components = context.codingPath.map { key in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
            return components.isEmpty ? "" : " at '\(components.hasPrefix(".") ? String(components.dropFirst()) : components)'"
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "expected \(typeName(type))\(path(context))"
        case .valueNotFound(let type, let context):
            return "missing \(typeName(type)) value\(path(context))"
        case .keyNotFound(let key, let context):
            return "missing field '\(key.stringValue)'\(path(context))"
        case .dataCorrupted(let context):
            let underlying = context.underlyingError.map { " (\($0.localizedDescription))" } ?? ""
            return "\(context.debugDescription)\(underlying)\(path(context))"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Float.Type, is Double.Type: "a number"
        case is Int.Type, is Int8.Type, is Int16.Type, is Int32.Type, is Int64.Type,
             is UInt8.Type, is UInt16.Type, is UInt32.Type, is UInt64.Type: "an integer in range"
        default: "\(type)".contains("Array") ? "an array" : (("\(type)".contains("Dictionary") || "\(type)".contains("Keyed")) ? "an object" : "\(type)")
        }
    }
}
