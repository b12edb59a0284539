import Hummingbird
import SwerveCore

/// TorchServe's error body, `{"code": 404, "type": "ModelNotFoundException", "message": "..."}`,
/// with the status the core's error code maps to (the same mapping as every HTTP frontend).
enum TorchServeError {
    static func type(for status: HTTPResponse.Status) -> String {
        switch status.code {
        // TorchServe's refusal to unregister a model's default version.
        case 403: "InvalidModelVersionException"
        case 404: "ModelNotFoundException"
        case 405: "MethodNotAllowedException"
        case 409: "ConflictException"
        case 413: "RequestEntityTooLargeException"
        case 415: "UnsupportedMediaTypeException"
        case 503: "ServiceUnavailableException"
        case 500...: "InternalServerException"
        default: "BadRequestException"
        }
    }

    /// The JSON of one error, also used for one failed item of a batch.
    static func write(status: HTTPResponse.Status, message: String, to writer: inout JSONWriter) {
        writer.raw("{\"code\":\(status.code),\"type\":")
        writer.string(type(for: status))
        writer.raw(",\"message\":")
        writer.string(message)
        writer.raw("}")
    }

    /// The status and message for any error.
    static func describe(_ error: any Error) -> (HTTPResponse.Status, String) {
        let (status, message, _) = ErrorResponse.describe(error)
        return (status, message)
    }

    static func response(for error: any Error) -> Response {
        let (status, message, extraHeaders) = ErrorResponse.describe(error)
        var writer = JSONWriter()
        write(status: status, message: message, to: &writer)
        var headers = extraHeaders
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}

/// Renders errors from the TorchServe routes in TorchServe's format.
struct TorchServeErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            if routes.knowsPath(request.uri.path) {
                return TorchServeError.response(for: HTTPError(.methodNotAllowed, message: "Method Not Allowed"))
            }
            return TorchServeError.response(for: SwerveError.notFound("Requested resource is not found, please refer to API document."))
        } catch {
            let response = TorchServeError.response(for: error)
            if response.status == .contentTooLarge { (context as? SwerveRequestContext)?.closeConnectionSoon() }
            return response
        }
    }
}
