import Foundation
import HTTPTypes
import Hummingbird
import SwerveCore

/// TensorFlow Serving's REST API (port 8501): model status, metadata and `:predict` with the row
/// (`instances`) and columnar (`inputs`) formats, translated onto ``InferenceServer``.
public struct TFServingRoutes: Sendable {
    let server: InferenceServer
    let options: HTTPFrontendOptions

    /// Creates the routes over a server.
    public init(server: InferenceServer, options: HTTPFrontendOptions) {
        self.server = server
        self.options = options
    }

    /// Builds the router; errors are `{"error": "..."}`.
    /// - Parameter restrictions: the categories `--http-restricted-api` restricts (none by default).
    public func makeRouter(restrictions: RestrictedFeatures = RestrictedFeatures(flag: .httpRestrictedAPI)) -> Router<SwerveRequestContext> {
        makeTable(restrictions: restrictions).router
    }

    /// The route table behind ``makeRouter(restrictions:)``.
    func makeTable(restrictions: RestrictedFeatures) -> RouteTable {
        let table = RouteTable(errorFormat: .kserve, restrictions: restrictions)
        // `:predict` is part of the last path segment, so the routes take the whole segment.
        table.get("/v1/models/:model", category: .metadata) { _, context in
            let name = context.parameters.get("model") ?? ""
            return jsonResponse(try status(model: name, version: nil))
        }
        table.get("/v1/models/:model/versions/:version", category: .metadata) { _, context in
            let (name, version) = try modelAndVersion(context)
            return jsonResponse(try status(model: name, version: version))
        }
        table.get("/v1/models/:model/metadata", category: .metadata) { _, context in
            jsonResponse(try await metadata(model: context.parameters.get("model") ?? "", version: nil))
        }
        table.get("/v1/models/:model/versions/:version/metadata", category: .metadata) { _, context in
            let (name, version) = try modelAndVersion(context)
            return jsonResponse(try await metadata(model: name, version: version))
        }
        table.post("/v1/models/:model", category: .inference) { request, context in
            let (name, method) = try splitMethod(context.parameters.get("model") ?? "")
            return try await context.untilDisconnect { signal in
                try await predict(request, model: name, version: nil, method: method, cancellation: signal)
            }
        }
        table.post("/v1/models/:model/versions/:version", category: .inference) { request, context in
            let (text, method) = try splitMethod(context.parameters.get("version") ?? "")
            let version = try ModelVersionText.parse(text, model: context.parameters.get("model") ?? "")
            return try await context.untilDisconnect { signal in
                try await predict(request, model: context.parameters.get("model") ?? "", version: version, method: method, cancellation: signal)
            }
        }
        return table
    }

    /// The model and the method of a `<model>:<method>` path segment.
    func splitMethod(_ segment: String) throws -> (String, String) {
        guard let colon = segment.lastIndex(of: ":") else {
            throw SwerveError.invalid("missing method: POST to /v1/models/<model>:predict")
        }
        return (String(segment[..<colon]), String(segment[segment.index(after: colon)...]))
    }

    private func status(model name: String, version: Int?) throws -> [UInt8] {
        let rows = server.modelStatuses(model: name).filter { version == nil || $0.version == version }
        guard !rows.isEmpty else {
            throw SwerveError.notFound("Servable not found for request: \(version.map { "Specific(\(name), \($0))" } ?? "Latest(\(name))")")
        }
        let entries = rows.map { row -> JSONValue in
            let state: JSONValue
            switch row.state {
            case .notLoaded: state = "START"
            case .loading: state = "LOADING"
            case .ready: state = "AVAILABLE"
            case .unloading: state = "UNLOADING"
            case .unloaded, .evicted, .failed: state = "END"
            }
            var status: JSONValue = ["error_code": "OK", "error_message": ""]
            if case .failed(let reason) = row.state { status = ["error_code": "UNKNOWN", "error_message": .string(reason)] }
            return ["version": .string(row.version.map(String.init) ?? ""), "state": state, "status": status]
        }
        return JSONValue.object(["model_version_status": .array(entries)]).encoded()
    }

    private func metadata(model name: String, version: Int?) async throws -> [UInt8] {
        let served = try await resolve(name, version: version)
        func signature(_ specs: [TensorSpec]) -> JSONValue {
            .object(Dictionary(specs.map { spec in
                (spec.name, [
                    "dtype": .string(Self.tfType(spec.dataType)), "name": .string(spec.name),
                    "tensor_shape": ["dim": .array(spec.shape.map { ["size": .string(String($0)), "name": ""] }), "unknown_rank": false],
                ] as JSONValue)
            }, uniquingKeysWith: { first, _ in first }))
        }
        let object: JSONValue = [
            "model_spec": ["name": .string(name), "signature_name": "", "version": .string(String(served.version))],
            "metadata": ["signature_def": ["signature_def": [Self.signatureName(of: served.config): [
                "inputs": signature(served.io.inputs), "outputs": signature(served.io.outputs), "method_name": "tensorflow/serving/predict",
            ]]]],
        ]
        return object.encoded()
    }

    private func resolve(_ name: String, version: Int?) async throws -> ServedVersion {
        do {
            return try await server.versionForRequest(name, version: version)
        } catch let error as SwerveError where error.code == .notFound {
            throw SwerveError.notFound("Servable not found for request: \(version.map { "Specific(\(name), \($0))" } ?? "Latest(\(name))")")
        }
    }

    static func tfType(_ type: DataType) -> String {
        switch type {
        case .bool: "DT_BOOL"
        case .uint8: "DT_UINT8"
        case .uint16: "DT_UINT16"
        case .uint32: "DT_UINT32"
        case .uint64: "DT_UINT64"
        case .int8: "DT_INT8"
        case .int16: "DT_INT16"
        case .int32: "DT_INT32"
        case .int64: "DT_INT64"
        case .fp16: "DT_HALF"
        case .bf16: "DT_BFLOAT16"
        case .fp32: "DT_FLOAT"
        case .fp64: "DT_DOUBLE"
        case .bytes: "DT_STRING"
        }
    }

    // MARK: - Predict

    /// `:predict` on a model (version): the request's `instances` or `inputs` translated onto the
    /// core and the answer back into `predictions` or `outputs`. Shared with KServe's v1 protocol
    /// (``addKServeV1Routes(to:)``), which is this same translation.
    func predict(
        _ request: Request, model: String, version: Int?, method: String, cancellation: CancellationSignal
    ) async throws -> Response {
        guard method == "predict" else {
            // TF Serving answers a method it does not know with 400 "Malformed request"; its
            // tf.Example methods (classify, regress) are not served here, also a 400.
            if method == "classify" || method == "regress" {
                throw SwerveError.invalid("method ':\(method)' is not supported; Swerve serves ':predict'")
            }
            throw SwerveError.invalid("Malformed request: POST \(request.uri.path.prefix(200))")
        }
        let served = try await resolve(model, version: version)
        let body = try await options.collectBody(request)
        let parsed = try TFServingPredictRequest.parse(
            body, io: served.io, imageInput: served.preprocessor?.inputName, signature: Self.signatureName(of: served.config))
        let rowFormat = parsed.rowFormat
        let inputs = parsed.inputs
        let response = try await server.infer(
            InferenceRequest(modelName: model, modelVersion: version, inputs: inputs, cancellation: cancellation), on: served)
        return jsonResponse(try TFServingPredictResponse.encode(response, rowFormat: rowFormat))
    }

    /// The signature a model serves when its configuration names none.
    package static let defaultSignatureName = "serving_default"

    /// The one signature a model serves: for a SavedModel the `signature_def` its configuration
    /// picks (parameter `signature_def`, or Triton's `TF_SIGNATURE_DEF`), else `serving_default`.
    static func signatureName(of config: Inference_ModelConfig) -> String {
        for key in ["signature_def", "TF_SIGNATURE_DEF"] {
            if let name = config.parameters[key]?.stringValue, !name.isEmpty { return name }
        }
        return defaultSignatureName
    }
}
