import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwerveCore

extension HTTPField.Name {
    /// Triton's header giving the length of the JSON part of a binary request or response.
    static let inferenceHeaderContentLength = HTTPField.Name("Inference-Header-Content-Length")!
}

/// The KServe v2 / Open Inference Protocol HTTP endpoints, translated onto ``InferenceServer``;
/// with `servesV1`, KServe's v1 protocol beside them (``TFServingRoutes/addKServeV1Routes(to:)``).
public struct KServeRoutes: Sendable {
    let server: InferenceServer
    let options: HTTPFrontendOptions
    let settings = FrontendSettings()
    /// Whether KServe's v1 routes (`/v1/models…`) are served too.
    let servesV1: Bool

    /// The extensions these routes implement, for server metadata.
    public static let extensions = [
        "classification", "model_repository", "model_repository(unload_dependents)", "schedule_policy",
        "model_configuration", "binary_tensor_data", "parameters", "statistics", "logging",
    ]

    /// Creates the routes over a server.
    /// - Parameter servesV1: also serve KServe's v1 protocol (`:predict` and model status).
    public init(server: InferenceServer, options: HTTPFrontendOptions, servesV1: Bool = false) {
        self.server = server
        self.options = options
        self.servesV1 = servesV1
    }

    /// Builds a router with every KServe v2 route (and the v1 routes when asked) and the KServe
    /// error format.
    /// - Parameter restrictions: the categories `--http-restricted-api` restricts (none by default).
    public func makeRouter(restrictions: RestrictedFeatures = RestrictedFeatures(flag: .httpRestrictedAPI)) -> Router<SwerveRequestContext> {
        makeTable(restrictions: restrictions).router
    }

    /// The route table behind ``makeRouter(restrictions:)``.
    func makeTable(restrictions: RestrictedFeatures) -> RouteTable {
        let table = RouteTable(errorFormat: .kserve, restrictions: restrictions)
        addCoreRoutes(to: table)
        addRepositoryRoutes(to: table)
        addStatisticsRoutes(to: table)
        addExtensionRoutes(to: table)
        if servesV1 {
            TFServingRoutes(server: server, options: options).addKServeV1Routes(to: table)
        }
        return table
    }

    private func addCoreRoutes(to table: RouteTable) {
        table.get("/v2/health/live", category: .health) { _, _ in
            Response(status: server.isLive ? .ok : .serviceUnavailable)
        }
        table.get("/v2/health/ready", category: .health) { _, _ in
            guard server.isReady else { throw SwerveError.unavailable("server is not ready: models are still loading") }
            return Response(status: .ok)
        }
        table.get("/v2", category: .metadata) { _, _ in
            jsonResponse(MetadataJSON.server(server.info))
        }
        for prefix in ["/v2/models/:model", "/v2/models/:model/versions/:version"] {
            table.get(prefix, category: .metadata) { _, context in
                let (name, version) = try modelAndVersion(context)
                return jsonResponse(MetadataJSON.model(try await server.metadata(model: name, version: version)))
            }
            table.get(prefix + "/ready", category: .health) { _, context in
                let (name, version) = try modelAndVersion(context)
                // Answers from the index, loading nothing: 404 or 503 with the reason when not ready.
                guard try await server.isModelReady(name, version: version) else {
                    _ = try server.servedVersion(name, version: version)
                    throw SwerveError.unavailable("model '\(name)' is not ready")
                }
                return Response(status: .ok)
            }
            table.get(prefix + "/config", category: .modelConfig) { _, context in
                let (name, version) = try modelAndVersion(context)
                return jsonResponse(try MetadataJSON.config(try await server.config(model: name, version: version)))
            }
            table.post(prefix + "/infer", category: .inference) { request, context in
                let (name, version) = try modelAndVersion(context)
                return try await infer(request, context: context, model: name, version: version)
            }
        }
    }

    // MARK: - Inference

    private func infer(_ request: Request, context: SwerveRequestContext, model: String, version: Int?) async throws -> Response {
        let start = ContinuousClock.now
        var status = HTTPResponse.Status.ok
        var requestID: String?
        var servedVersion: Int?
        defer {
            let elapsed = ContinuousClock.now - start
            context.logger.debug(
                "infer", metadata: [
                    "model": "\(model)", "version": "\(servedVersion.map(String.init) ?? "none")", "status": "\(status.code)",
                    "duration_us": "\(elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000)",
                    "request_id": "\(requestID ?? context.id)",
                ])
        }
        do {
            // Unknown model: 404 before the body is read. The one lookup of the request (which
            // loads the version in lazy mode).
            let served = try await server.versionForRequest(model, version: version)
            servedVersion = served.version
            return try await context.untilDisconnect { signal in
                try await inferBody(request, served: served, version: version, cancellation: signal, requestID: &requestID)
            }
        } catch {
            let response = ErrorResponse.make(for: error, format: .kserve)
            status = response.status
            if status == .contentTooLarge { context.closeConnectionSoon() }
            if response.status.code >= 500 {
                context.logger.error("infer failed", metadata: ["model": "\(model)", "request_id": "\(requestID ?? context.id)", "error": "\(error)"])
            } else {
                context.logger.debug("infer refused", metadata: ["model": "\(model)", "request_id": "\(requestID ?? context.id)", "status": "\(response.status.code)", "error": "\(error)"])
            }
            return response
        }
    }

    private func inferBody(
        _ request: Request, served: ServedVersion, version: Int?, cancellation: CancellationSignal, requestID: inout String?
    ) async throws -> Response {
        let body = try Compression.decompress(
            try await options.collectBody(request), contentEncoding: request.headers[.contentEncoding], limit: options.decompressedSizeLimit)
        let headerLength = try InferRequestBody.headerLength(field: request.headers[.inferenceHeaderContentLength], bodyCount: body.count)
        if headerLength == 0, request.headers[.inferenceHeaderContentLength] != nil {
            return try await inferRaw(
                body, served: served, version: version, cancellation: cancellation, acceptEncoding: request.headers[.acceptEncoding])
        }
        let split = try InferRequestBody.split(body, headerLength: headerLength)
        let header = split.header
        requestID = header.id
        let inputs = split.inputs

        try SharedMemoryParameters.reject(header.parameters.map { Array($0.keys) } ?? [], of: "the request")
        for output in header.outputs ?? [] {
            try SharedMemoryParameters.reject(output.parameters.map { Array($0.keys) } ?? [], of: "output '\(output.name)'")
        }
        let requestBinary = header.parameters?["binary_data_output"]?.value.boolValue ?? false
        var binaryOutputs = Set<String>()
        let outputs = (header.outputs ?? []).map { output -> InferenceRequest.RequestedOutput in
            if output.parameters?["binary_data"]?.value.boolValue ?? requestBinary { binaryOutputs.insert(output.name) }
            return InferenceRequest.RequestedOutput(name: output.name, parameters: ParameterJSON.convert(output.parameters))
        }
        let inferenceRequest = InferenceRequest(
            modelName: served.name, modelVersion: version, id: header.id, parameters: ParameterJSON.convert(header.parameters),
            inputs: inputs, outputs: outputs, cancellation: cancellation)
        let response = try await server.infer(inferenceRequest, on: served)
        if outputs.isEmpty, requestBinary {
            binaryOutputs = Set(response.outputs.map(\.name))
        }
        let encoded = try InferResponseJSON.encode(response, binaryOutputs: binaryOutputs)
        return try makeResponse(encoded, acceptEncoding: request.headers[.acceptEncoding])
    }

    /// Triton's raw binary request: the whole body is the one input's bytes, batch 1, every
    /// output returned binary.
    private func inferRaw(
        _ body: [UInt8], served: ServedVersion, version: Int?, cancellation: CancellationSignal, acceptEncoding: String?
    ) async throws -> Response {
        let model = served.name
        guard served.io.inputs.count == 1, let spec = served.io.inputs.first else {
            throw SwerveError.invalid("a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one input; '\(model)' has \(served.io.inputs.count)")
        }
        var shape = spec.shape
        if served.io.maxBatchSize > 0 { shape[0] = 1 }
        let variable = shape.indices.filter { shape[$0] == -1 }
        var data = body
        if spec.dataType == .bytes {
            // The whole body is one element, without a length prefix.
            guard shape.allSatisfy({ $0 == 1 || $0 == -1 }) else {
                throw SwerveError.invalid("a raw binary request fills a BYTES input with one element, but '\(spec.name)' has shape \(Shape.describe(spec.shape))")
            }
            shape = shape.map { _ in 1 }
            data = BytesCodec.encode([body])
        } else if let size = spec.dataType.byteSize {
            guard variable.count <= 1 else {
                throw SwerveError.invalid("a raw binary request cannot fill input '\(spec.name)' with more than one variable dimension")
            }
            if let axis = variable.first {
                let fixed = shape.enumerated().reduce(1) { $1.offset == axis ? $0 : $0 * $1.element } * size
                guard fixed > 0, body.count % fixed == 0 else {
                    throw SwerveError.invalid("raw body of \(body.count) bytes is not a whole number of rows of input '\(spec.name)' (\(fixed) bytes each)")
                }
                shape[axis] = body.count / fixed
            }
        }
        let tensor = try Tensor.validated(name: spec.name, dataType: spec.dataType, shape: shape, data: data)
        let response = try await server.infer(
            InferenceRequest(
                modelName: model, modelVersion: version, inputs: [NamedTensor(name: spec.name, tensor: tensor)], cancellation: cancellation),
            on: served)
        let encoded = try InferResponseJSON.encode(response, binaryOutputs: Set(response.outputs.map(\.name)))
        return try makeResponse(encoded, acceptEncoding: acceptEncoding)
    }

    private func makeResponse(_ encoded: InferResponseJSON.Encoded, acceptEncoding: String?) throws -> Response {
        var headers: HTTPFields = [:]
        if let length = encoded.headerLength {
            headers[.contentType] = "application/octet-stream"
            headers[.inferenceHeaderContentLength] = String(length)
        } else {
            headers[.contentType] = "application/json"
        }
        if let encoding = Compression.preferred(acceptEncoding: acceptEncoding) {
            headers[.contentEncoding] = encoding.rawValue
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: try Compression.compress(encoded.body, with: encoding)))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: encoded.body)))
    }
}
