import Foundation
import Hummingbird
import SwerveCore

/// TorchServe's management API (port 8081): list, describe, register (`POST /models?url=`),
/// scale (`PUT /models/{m}?min_worker=`), set the default version, unregister. A worker is a model
/// instance; every change goes through ``InferenceServer`` as the KServe v2 repository API's
/// do, under the same rule: registering, scaling and unregistering need
/// `--model-control-mode explicit`.
///
/// Versions follow TorchServe: `GET /models/{m}` describes the default version (the one
/// `/predictions/{m}` uses: set with `PUT /models/{m}/{v}/set-default`, else the highest),
/// `GET /models/{m}/all` every version; the default version cannot be unregistered while other
/// versions are served (403 `InvalidModelVersionException`); `DELETE /models/{m}` without a
/// version means the default version, so it unregisters a model served in one version and is
/// refused (403) while there are several.
public struct TorchServeManagementRoutes: Sendable {
    let server: InferenceServer

    /// Creates the routes over a server.
    public init(server: InferenceServer) {
        self.server = server
    }

    /// Builds the router; errors are `{"code", "type", "message"}`.
    /// - Parameter restrictions: the categories `--http-restricted-api` restricts (none by default).
    public func makeRouter(restrictions: RestrictedFeatures = RestrictedFeatures(flag: .httpRestrictedAPI)) -> Router<SwerveRequestContext> {
        makeTable(restrictions: restrictions).router
    }

    /// The route table behind ``makeRouter(restrictions:)``.
    func makeTable(restrictions: RestrictedFeatures) -> RouteTable {
        let table = RouteTable(errorFormat: .torchServe, restrictions: restrictions)
        table.get("/models", category: .modelRepository) { _, _ in
            // Lazy mode's indexed and evicted versions are registered too: their next request loads them.
            let listed: Set<ModelState> = [.ready, .loading, .notLoaded, .evicted]
            let names = Array(Set(server.modelStatuses().filter { listed.contains($0.state) }.map(\.name))).sorted()
            let models: JSONValue = ["models": .array(names.map { ["modelName": .string($0), "modelUrl": .string($0)] })]
            return jsonResponse(models.encoded())
        }
        table.get("/models/:model", category: .modelRepository) { _, context in
            jsonResponse(try describe(context.parameters.get("model") ?? "", version: nil))
        }
        table.get("/models/:model/:version", category: .modelRepository) { _, context in
            let name = context.parameters.get("model") ?? ""
            if context.parameters.get("version") == "all" { return jsonResponse(try describeAll(name)) }
            return jsonResponse(try describe(name, version: try version(context, model: name)))
        }
        table.post("/models", category: .modelRepository) { request, _ in
            try await register(request.uri.queryParameters)
        }
        table.put("/models/:model", category: .modelRepository) { request, context in
            try await scale(context.parameters.get("model") ?? "", request.uri.queryParameters)
        }
        table.put("/models/:model/:version/set-default", category: .modelRepository) { _, context in
            let name = context.parameters.get("model") ?? ""
            let version = try version(context, model: name)
            try server.setDefaultVersion(name, version: version)
            return status("Default version successfully updated for model \"\(name)\" to \"\(version)\"")
        }
        table.delete("/models/:model", category: .modelRepository) { _, context in
            // As TorchServe: without a version the default version goes, which is refused
            // while other versions are served.
            let name = context.parameters.get("model") ?? ""
            try await server.unloadDefaultVersion(name)
            return status("Model \"\(name)\" unregistered")
        }
        table.delete("/models/:model/:version", category: .modelRepository) { _, context in
            let name = context.parameters.get("model") ?? ""
            let version = try version(context, model: name)
            try await server.unloadVersion(name, version: version)
            return status("Model \"\(name)\" version \(version) unregistered")
        }
        return table
    }

    private func version(_ context: SwerveRequestContext, model: String) throws -> Int {
        // The route has a version segment, so the core's rule never returns nil here.
        guard let version = try ModelVersionText.parse(context.parameters.get("version") ?? "", model: model) else {
            throw SwerveError.invalid("model '\(model)': a version is required")
        }
        return version
    }

    /// `GET /models/{m}[/{v}]`: the version asked for, else the default one, as a one-element list.
    private func describe(_ name: String, version: Int?) throws -> [UInt8] {
        try describe(name, versions: [try server.servedVersion(name, version: version).version])
    }

    /// `GET /models/{m}/all`: every ready version, ascending.
    private func describeAll(_ name: String) throws -> [UInt8] {
        let ready = server.readyVersions(name)
        guard !ready.isEmpty else { throw SwerveError.notFound("Model not found: \(name)") }
        return try describe(name, versions: ready)
    }

    private func describe(_ name: String, versions: [Int]) throws -> [UInt8] {
        let defaultVersion = server.defaultVersion(name)
        let described = try versions.map { number -> JSONValue in
            let served = try server.servedVersion(name, version: number)
            let config = served.config
            let workers = Int(config.instanceGroup.reduce(0) { $0 + $1.count })
            let dynamic: Inference_ModelDynamicBatching? = {
                if case .dynamicBatching(let value)? = config.schedulingChoice { return value }
                return nil
            }()
            return [
                "modelName": .string(name), "modelVersion": .string(String(number)), "modelUrl": .string(name), "runtime": "onnxruntime",
                "minWorkers": JSONValue(workers), "maxWorkers": JSONValue(workers), "batchSize": JSONValue(max(1, config.maxBatchSize)),
                "maxBatchDelay": JSONValue((dynamic?.maxQueueDelayMicroseconds ?? 0) / 1000), "loadedAtStartup": true,
                "isDefault": .bool(number == defaultVersion),
                "workers": .array((0..<workers).map { ["id": .string(String(9000 + $0)), "status": "READY", "gpu": false] }),
                "metrics": [
                    "inferenceCount": JSONValue(served.statistics.inferenceCount), "executionCount": JSONValue(served.statistics.executionCount),
                ],
            ]
        }
        return JSONValue.array(described).encoded()
    }

    /// `POST /models?url=<model folder in the repository>&initial_workers=&batch_size=&max_batch_delay=`.
    private func register(_ query: Parameters) async throws -> Response {
        guard let url = query["url"].map(String.init), !url.isEmpty else {
            throw SwerveError.invalid("Parameter url is required.")
        }
        let name = url.hasSuffix(".mar") ? String(url.dropLast(4)) : url
        guard !name.contains("/"), !name.hasPrefix(".") else {
            throw SwerveError.invalid("url '\(url)' must name a model folder in the model repository")
        }
        let settings = ModelServingSettings(
            instances: try intParameter(query, "initial_workers", in: Self.workerRange),
            maxBatchSize: try intParameter(query, "batch_size", in: Self.batchSizeRange),
            maxQueueDelayMicroseconds: try intParameter(query, "max_batch_delay", in: Self.batchDelayRange).map { UInt64($0) * 1000 })
        let registered = try await server.registerModel(name, settings: settings)
        return status("Model \"\(name)\" Version: \(registered.versions.max() ?? 0) registered with \(registered.instances) initial workers")
    }

    /// `PUT /models/{m}?min_worker=N`: reloads the model with N instances; the old ones serve until
    /// the new ones are ready.
    private func scale(_ name: String, _ query: Parameters) async throws -> Response {
        _ = try server.servedVersion(name, version: nil)  // an unknown model is 404 before the parameters
        guard let workers = try intParameter(query, "min_worker", in: Self.workerRange) ?? intParameter(query, "max_worker", in: Self.workerRange) else {
            throw SwerveError.invalid("Parameter min_worker is required.")
        }
        try await server.scaleModel(name, instances: workers)
        return status("Workers updated: model \"\(name)\" has \(workers) workers")
    }

    /// Workers (instances) a model may have.
    static let workerRange = 1...Int(ModelConfigCompletion.maxInstances)
    /// `batch_size`: the model's max_batch_size.
    static let batchSizeRange = 1...1_000_000
    /// `max_batch_delay` in milliseconds: up to an hour.
    static let batchDelayRange = 0...3_600_000

    /// An integer query parameter, nil when absent.
    /// - Throws: `invalidArgument` naming the parameter and its range when the text is not an
    ///   integer in `range` (checked before any arithmetic, so no value can overflow).
    private func intParameter(_ query: Parameters, _ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = query[Substring(key)] else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw SwerveError.invalid("Parameter \(key) must be an integer from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
    }

    private func status(_ message: String) -> Response {
        var writer = JSONWriter()
        writer.raw("{\"status\":")
        writer.string(message)
        writer.raw("}")
        return jsonResponse(writer.bytes)
    }
}
