import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import SwerveCore

/// Turns every failure into the KServe v2 error format, `{"error": "<message>"}`, with the status
/// the core's error code maps to. This is the one place HTTP statuses are chosen for errors that
/// reach a route; requests that never reach one (broken framing, `CONNECT`) are refused by
/// ``HTTPFramingGuard`` with 400 or 405.
enum ErrorResponse {
    /// The HTTP status for a core error code.
    static func status(for code: SwerveError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidArgument, .modelFailed, .cancelled: .badRequest
        case .notFound: .notFound
        case .unavailable: .serviceUnavailable
        case .payloadTooLarge: .contentTooLarge
        case .unsupported: .notImplemented
        case .deadlineExceeded: .gatewayTimeout
        case .internal: .internalServerError
        case .alreadyExists: .conflict
        }
    }

    /// A JSON error response.
    static func make(status: HTTPResponse.Status, message: String, headers: HTTPFields = [:]) -> Response {
        var writer = JSONWriter()
        writer.raw("{\"error\":")
        writer.string(message)
        writer.raw("}")
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }

    /// The response for any error thrown while handling a request.
    static func make(for error: any Error) -> Response {
        let (status, message, headers) = describe(error)
        return make(status: status, message: message, headers: headers)
    }

    /// The status, message and extra headers of any error thrown while handling a request, for
    /// every HTTP frontend's error format. Errors the client caused are 4xx whichever layer
    /// raised them: the core, Hummingbird, JSON decoding or NIO's HTTP parser.
    static func describe(_ error: any Error) -> (status: HTTPResponse.Status, message: String, headers: HTTPFields) {
        switch error {
        case let error as SwerveError:
            var headers: HTTPFields = [:]
            if error.code == .unavailable { headers[.retryAfter] = "1" }
            // The unread rest of an oversized body makes the connection useless: close it.
            if error.code == .payloadTooLarge { headers[.connection] = "close" }
            return (status(for: error.code), error.message, headers)
        case let error as HTTPError:
            switch error.status {
            case .contentTooLarge:
                return (error.status, "request body is larger than the server's limit", [.connection: "close"])
            case .notFound:
                return (error.status, "Not Found", error.headers)
            default:
                return (error.status, error.body ?? error.status.reasonPhrase, error.headers)
            }
        case let error as DecodingError:
            return (.badRequest, "invalid JSON body: \(JSONErrorDescription.describe(error))", [:])
        case let error as HTTPParserError:
            // The framing is broken, so the rest of the connection cannot be read: HTTPFramingGuard
            // closes it after this answer.
            return (.badRequest, "malformed HTTP request: \(HTTPFramingGuard.describe(error))", [.connection: "close"])
        case is ByteToMessageDecoderError:
            return (.badRequest, "malformed HTTP request", [.connection: "close"])
        default:
            return (.internalServerError, "internal error: \(error)", [:])
        }
    }
}

/// Catches errors from every route (and from unmatched paths) and renders them with
/// ``ErrorResponse``; a known path asked with the wrong method gets 405.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The routes, whose path patterns (`:name` segments match any one segment) tell 405 from 404.
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            if routes.knowsPath(request.uri.path) {
                return ErrorResponse.make(status: .methodNotAllowed, message: "Method Not Allowed")
            }
            return ErrorResponse.make(for: error)
        } catch {
            context.logger.debug("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            let response = ErrorResponse.make(for: error)
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
