import Foundation
import Hummingbird
import SwerveCore

/// TorchServe's inference API (port 8080): `GET /ping` and `POST /predictions/{model}[/{version}]`
/// with a raw image body or a multipart form of one or more images, answered like TorchServe's
/// default image classifier: top-k `{label: probability}`, highest first.
///
/// Each image becomes its own core request, so images of one multipart request are decoded and
/// checked one by one (a bad image gets its own error, the others their answers) and the dynamic
/// batcher merges them with everything else in the queue.
public struct TorchServeInferenceRoutes: Sendable {
    let server: InferenceServer
    let options: HTTPFrontendOptions

    /// Creates the routes over a server.
    public init(server: InferenceServer, options: HTTPFrontendOptions) {
        self.server = server
        self.options = options
    }

    /// Builds the router; errors are `{"code", "type", "message"}`.
    /// - Parameter restrictions: the categories `--http-restricted-api` restricts (none by default).
    public func makeRouter(restrictions: RestrictedFeatures = RestrictedFeatures(flag: .httpRestrictedAPI)) -> Router<SwerveRequestContext> {
        makeTable(restrictions: restrictions).router
    }

    /// The route table behind ``makeRouter(restrictions:)``.
    func makeTable(restrictions: RestrictedFeatures) -> RouteTable {
        let table = RouteTable(errorFormat: .torchServe, restrictions: restrictions)
        table.get("/ping", category: .health) { _, _ in
            let healthy = server.isReady
            return jsonResponse(Array((healthy ? #"{"status":"Healthy"}"# : #"{"status":"Unhealthy"}"#).utf8), status: healthy ? .ok : .serviceUnavailable)
        }
        // `curl -T image.jpg` sends PUT; TorchServe takes both.
        for register in [table.post, table.put] {
            register("/predictions/:model", .inference) { request, context in
                try await context.untilDisconnect { signal in
                    try await predict(request, model: context.parameters.get("model") ?? "", version: nil, cancellation: signal)
                }
            }
            register("/predictions/:model/:version", .inference) { request, context in
                let (model, version) = try modelAndVersion(context)
                return try await context.untilDisconnect { signal in
                    try await predict(request, model: model, version: version, cancellation: signal)
                }
            }
        }
        return table
    }

    private func predict(_ request: Request, model: String, version: Int?, cancellation: CancellationSignal) async throws -> Response {
        let served = try await server.versionForRequest(model, version: version)
        guard let preprocessor = served.preprocessor else {
            throw SwerveError.invalid(
                "model '\(model)' declares no image input (config.pbtxt parameters image_input ...); use the KServe v2 API at /v2/models/\(model)/infer for tensors")
        }
        let body = try await options.collectBody(request)
        let images: [[UInt8]]
        if let boundary = try MultipartBody.boundary(contentType: request.headers[.contentType]) {
            let parts = try MultipartBody.parse(body, boundary: boundary, maxParts: options.maxMultipartParts)
            // TorchServe's image handlers read "data" or "body"; curl users often write "file".
            let named = parts.filter { ["data", "body", "file"].contains($0.name ?? "") }
            images = (named.isEmpty ? parts : named).map(\.bytes)
            guard !images.isEmpty else { throw SwerveError.invalid("the multipart body holds no 'data', 'body' or 'file' field") }
        } else {
            images = [body]
        }
        let postprocessing = try ClassificationPostprocessing(configParameters: served.config.parameters.mapValues(\.stringValue))
        let results = await withTaskGroup(of: (Int, Result<[(String, Float)], any Error>).self) { group in
            for (index, image) in images.enumerated() {
                group.addTask {
                    do {
                        let input = NamedTensor(name: preprocessor.inputName, tensor: Tensor(dataType: .bytes, shape: [1], data: BytesCodec.encode([image])))
                        let response = try await server.infer(
                            InferenceRequest(modelName: model, modelVersion: version, inputs: [input], cancellation: cancellation), on: served)
                        return (index, .success(try classify(response, served: served, postprocessing: postprocessing)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var ordered = Array(repeating: Result<[(String, Float)], any Error>.success([]), count: images.count)
            for await (index, result) in group { ordered[index] = result }
            return ordered
        }
        if results.count == 1 {
            return jsonResponse(try writeClasses(try results[0].get()))
        }
        var writer = JSONWriter()
        writer.raw("[")
        for (index, result) in results.enumerated() {
            if index > 0 { writer.raw(",") }
            switch result {
            case .success(let classes): writer.raw(String(decoding: try writeClasses(classes), as: UTF8.self))
            case .failure(let error):
                let (code, message, _) = ErrorResponse.describe(error)
                HTTPErrorFormat.torchServe.write(code: code, message: "image \(index): \(message)", to: &writer)
            }
        }
        writer.raw("]")
        return jsonResponse(writer.bytes)
    }

    /// Softmax (when configured) and top-k of the first output, with labels.
    private func classify(_ response: InferenceResponse, served: ServedVersion, postprocessing: ClassificationPostprocessing) throws -> [(String, Float)] {
        guard let output = response.outputs.first else { throw SwerveError.internal("the model returned no output") }
        guard let top = try postprocessing.classify(output.tensor, labels: served.labels[output.name]).first else {
            throw SwerveError.internal("the model returned an empty output '\(output.name)'")
        }
        var seen: [String: Int] = [:]
        for entry in top { seen[entry.label, default: 0] += 1 }
        // Two classes with one name (ImageNet's two "crane"s) must not collapse into one JSON key.
        return top.map { ((seen[$0.label] ?? 0) > 1 ? "\($0.label) (\($0.index))" : $0.label, $0.probability) }
    }

    private func writeClasses(_ classes: [(String, Float)]) throws -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{")
        for (index, (label, score)) in classes.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(label)
            writer.raw(":")
            writer.number(score)
        }
        writer.raw("}")
        return writer.bytes
    }
}
