import Foundation
import HTTPTypes
import Hummingbird
import SwerveCore

/// Settings of the HTTP frontends.
public struct HTTPFrontendOptions: Sendable {
    /// The largest request body accepted; larger bodies get 413 before they are read whole.
    public var maxRequestSize: Int

    /// Creates options.
    public init(maxRequestSize: Int = 64 << 20) {
        self.maxRequestSize = maxRequestSize
    }
}

extension HTTPField.Name {
    /// Triton's header giving the length of the JSON part of a binary request or response.
    static let inferenceHeaderContentLength = HTTPField.Name("Inference-Header-Content-Length")!
}

/// The KServe v2 / Open Inference Protocol HTTP endpoints, translated onto ``InferenceServer``.
public struct KServeRoutes: Sendable {
    let server: InferenceServer
    let options: HTTPFrontendOptions

    /// The extensions these routes implement, for server metadata.
    public static let extensions = ["binary_tensor_data", "parameters", "model_configuration"]

    /// Creates the routes over a server.
    public init(server: InferenceServer, options: HTTPFrontendOptions) {
        self.server = server
        self.options = options
    }

    /// Builds a router with every KServe v2 route and the KServe error format.
    public func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        var routes: [(HTTPRequest.Method, String)] = []
        func get(_ path: String, _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
            router.get(RouterPath(path), use: handler)
            routes.append((.get, path))
        }
        func post(_ path: String, _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
            router.post(RouterPath(path), use: handler)
            routes.append((.post, path))
        }

        get("/v2/health/live") { _, _ in
            Response(status: server.isLive ? .ok : .serviceUnavailable)
        }
        get("/v2/health/ready") { _, _ in
            server.isReady ? Response(status: .ok) : ErrorResponse.make(status: .serviceUnavailable, message: "server is not ready: models are still loading")
        }
        get("/v2") { _, _ in
            json(try MetadataJSON.server(server.info))
        }
        for prefix in ["/v2/models/:model", "/v2/models/:model/versions/:version"] {
            get(prefix) { _, context in
                let (name, version) = try modelAndVersion(context)
                return json(try MetadataJSON.model(try server.metadata(model: name, version: version)))
            }
            get(prefix + "/ready") { _, context in
                let (name, version) = try modelAndVersion(context)
                guard try server.isModelReady(name, version: version) else {
                    _ = try server.manager.resolve(name, version: version)  // throws the reason
                    return Response(status: .serviceUnavailable)
                }
                return Response(status: .ok)
            }
            get(prefix + "/config") { _, context in
                let (name, version) = try modelAndVersion(context)
                return json(try MetadataJSON.config(try server.config(model: name, version: version)))
            }
            post(prefix + "/infer") { request, context in
                let (name, version) = try modelAndVersion(context)
                return try await infer(request, context: context, model: name, version: version)
            }
        }
        let patterns = routes.map { (method: $0.0, pattern: $0.1.split(separator: "/")) }
        router.add(middleware: ErrorMiddleware(routes: patterns))
        return router
    }

    // MARK: - Inference

    private func infer(_ request: Request, context: BasicRequestContext, model: String, version: Int?) async throws -> Response {
        let body = try await collectBody(request)
        var headerLength = body.count
        if let field = request.headers[.inferenceHeaderContentLength] {
            guard let value = Int(field), value >= 0, value <= body.count else {
                throw SwerveError.invalid(
                    "Inference-Header-Content-Length '\(field)' must be a number between 0 and the body length \(body.count)")
            }
            headerLength = value
        }
        guard headerLength > 0 else {
            throw SwerveError.invalid("an inference request needs a JSON header; a raw binary body (Inference-Header-Content-Length: 0) is not supported")
        }
        let header = try InferRequestJSON.parse(body[0..<headerLength])
        var binaryOffset = headerLength
        var inputs: [NamedTensor] = []
        inputs.reserveCapacity(header.inputs.count)
        for input in header.inputs {
            if let data = input.data {
                inputs.append(NamedTensor(name: input.name, tensor: Tensor(dataType: input.dataType, shape: input.shape, data: data)))
                continue
            }
            guard let size = input.parameters?["binary_data_size"]?.value.intValue, size >= 0 else {
                throw SwerveError.invalid("input '\(input.name)': binary_data_size must be a non-negative integer")
            }
            guard size <= body.count - binaryOffset else {
                throw SwerveError.invalid(
                    "input '\(input.name)': binary_data_size \(size) is more than the \(body.count - binaryOffset) bytes of binary data left in the body")
            }
            let bytes = Array(body[binaryOffset..<(binaryOffset + Int(size))])
            binaryOffset += Int(size)
            let tensor = try Tensor.validated(name: input.name, dataType: input.dataType, shape: input.shape, data: bytes)
            inputs.append(NamedTensor(name: input.name, tensor: tensor))
        }
        guard binaryOffset == body.count else {
            throw SwerveError.invalid("the body has \(body.count - binaryOffset) bytes of binary data that no input claims (check binary_data_size)")
        }

        let requestBinary = header.parameters?["binary_data_output"]?.value.boolValue ?? false
        var binaryOutputs = Set<String>()
        let outputs = (header.outputs ?? []).map { output -> InferenceRequest.RequestedOutput in
            if output.parameters?["binary_data"]?.value.boolValue ?? requestBinary { binaryOutputs.insert(output.name) }
            return InferenceRequest.RequestedOutput(name: output.name, parameters: ParameterJSON.convert(output.parameters))
        }
        let inferenceRequest = InferenceRequest(
            modelName: model, modelVersion: version, id: header.id, parameters: ParameterJSON.convert(header.parameters),
            inputs: inputs, outputs: outputs)
        let response = try await server.infer(inferenceRequest)
        if outputs.isEmpty, requestBinary {
            binaryOutputs = Set(response.outputs.map(\.name))
        }
        let encoded = try InferResponseJSON.encode(response, binaryOutputs: binaryOutputs)
        var headers: HTTPFields = [:]
        if let length = encoded.headerLength {
            headers[.contentType] = "application/octet-stream"
            headers[.inferenceHeaderContentLength] = String(length)
        } else {
            headers[.contentType] = "application/json"
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: encoded.body)))
    }

    /// Reads the body up to the configured limit; a larger body gets 413 without being read whole.
    private func collectBody(_ request: Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > options.maxRequestSize {
            throw SwerveError(
                .payloadTooLarge, "request body of \(length) bytes is larger than the limit of \(options.maxRequestSize) bytes (--max-request-size)")
        }
        do {
            let buffer = try await request.body.collect(upTo: options.maxRequestSize)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw SwerveError(.payloadTooLarge, "request body is larger than the limit of \(options.maxRequestSize) bytes (--max-request-size)")
        }
    }
}

/// Reads the model name and optional version from the path.
private func modelAndVersion(_ context: BasicRequestContext) throws -> (String, Int?) {
    let name = context.parameters.get("model") ?? ""
    guard let text = context.parameters.get("version") else { return (name, nil) }
    guard let version = Int(text), version > 0 else {
        throw SwerveError.notFound("Request for unknown model: '\(name)' version '\(text)' is not found (versions are positive integers)")
    }
    return (name, version)
}

/// A 200 response with a JSON body.
private func json(_ bytes: [UInt8]) -> Response {
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}
