import Foundation
import Hummingbird
import SwerveCore
import SwiftProtobuf

/// TorchServe's management API (port 8081): list, describe, register (`POST /models?url=`),
/// scale (`PUT /models/{m}?min_worker=`), set the default version, unregister. A worker is a model
/// instance; every change goes through the same model manager as the KServe v2 repository API.
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
    public func makeRouter() -> Router<SwerveRequestContext> {
        let table = RouteTable(router: Router(context: SwerveRequestContext.self))
        table.router.add(middleware: TorchServeErrorMiddleware(routes: table))
        table.get("/models") { _, _ in
            let names = Array(Set(server.manager.statuses().filter { $0.state == .ready || $0.state == .loading }.map(\.name))).sorted()
            let models = names.map { ["modelName": $0, "modelUrl": $0] }
            return jsonResponse(try encode(["models": models]))
        }
        table.get("/models/:model") { _, context in
            jsonResponse(try describe(context.parameters.get("model") ?? "", version: nil))
        }
        table.get("/models/:model/:version") { _, context in
            let name = context.parameters.get("model") ?? ""
            if context.parameters.get("version") == "all" { return jsonResponse(try describeAll(name)) }
            return jsonResponse(try describe(name, version: try version(context)))
        }
        table.post("/models") { request, _ in
            try await register(request.uri.queryParameters)
        }
        table.put("/models/:model") { request, context in
            try await scale(context.parameters.get("model") ?? "", request.uri.queryParameters)
        }
        table.put("/models/:model/:version/set-default") { _, context in
            let name = context.parameters.get("model") ?? ""
            let version = try version(context)
            try server.manager.setDefaultVersion(name, version: version)
            return status("Default version successfully updated for model \"\(name)\" to \"\(version)\"")
        }
        table.delete("/models/:model") { _, context in
            // As TorchServe: without a version the default version goes, which is refused
            // while other versions are served.
            let name = context.parameters.get("model") ?? ""
            let served = server.manager.readyVersions(name)
            guard !served.isEmpty else { throw SwerveError.notFound("Model not found: \(name)") }
            if served.count > 1, let version = try? server.manager.resolve(name, version: nil).version {
                throw cannotRemoveDefault(name, version: version)
            }
            try await server.manager.unload(name)
            return status("Model \"\(name)\" unregistered")
        }
        table.delete("/models/:model/:version") { _, context in
            let name = context.parameters.get("model") ?? ""
            let version = try version(context)
            let served = server.manager.readyVersions(name)
            guard served.contains(version) else {
                throw SwerveError.notFound("Model version: \(version) does not exist for model: \(name)")
            }
            // TorchServe keeps the default version while others are served: requests without a
            // version must not move to another version behind the client's back.
            if served.count > 1, (try? server.manager.resolve(name, version: nil).version) == version {
                throw cannotRemoveDefault(name, version: version)
            }
            try await server.manager.unload(name, version: version)
            return status("Model \"\(name)\" version \(version) unregistered")
        }
        return table.router
    }

    /// TorchServe's 403 for unregistering the default version while other versions are served.
    private func cannotRemoveDefault(_ name: String, version: Int) -> HTTPError {
        HTTPError(
            .forbidden,
            message: "Cannot remove default version \(version) for model \(name): set another default with PUT /models/\(name)/<version>/set-default first, or unregister the other versions")
    }

    private func version(_ context: SwerveRequestContext) throws -> Int {
        let text = context.parameters.get("version") ?? ""
        guard let version = Int(text), version > 0 else {
            throw SwerveError.notFound("Model version '\(text)' is not found")
        }
        return version
    }

    /// `GET /models/{m}[/{v}]`: the version asked for, else the default one, as a one-element list.
    private func describe(_ name: String, version: Int?) throws -> [UInt8] {
        let ready = server.manager.readyVersions(name)
        guard !ready.isEmpty else { throw SwerveError.notFound("Model not found: \(name)") }
        if let version, !ready.contains(version) {
            throw SwerveError.notFound("Model version: \(version) does not exist for model: \(name)")
        }
        let number = try version ?? TorchServeLookup.resolve(server, model: name, version: nil).version
        return try describe(name, versions: [number])
    }

    /// `GET /models/{m}/all`: every ready version, ascending.
    private func describeAll(_ name: String) throws -> [UInt8] {
        let ready = server.manager.readyVersions(name)
        guard !ready.isEmpty else { throw SwerveError.notFound("Model not found: \(name)") }
        return try describe(name, versions: ready)
    }

    private func describe(_ name: String, versions: [Int]) throws -> [UInt8] {
        let defaultVersion = try? server.manager.resolve(name, version: nil).version
        let described = try versions.map { number -> [String: Any] in
            let served = try server.manager.resolve(name, version: number)
            let config = served.config
            let workers = Int(config.instanceGroup.reduce(0) { $0 + $1.count })
            let dynamic: Inference_ModelDynamicBatching? = {
                if case .dynamicBatching(let value)? = config.schedulingChoice { return value }
                return nil
            }()
            return [
                "modelName": name, "modelVersion": String(number), "modelUrl": name, "runtime": "onnxruntime",
                "minWorkers": workers, "maxWorkers": workers, "batchSize": Int(max(1, config.maxBatchSize)),
                "maxBatchDelay": Int((dynamic?.maxQueueDelayMicroseconds ?? 0) / 1000), "loadedAtStartup": true,
                "isDefault": number == defaultVersion,
                "workers": (0..<workers).map { ["id": String(9000 + $0), "status": "READY", "gpu": false] },
                "metrics": [
                    "inferenceCount": served.statistics.inferenceCount, "executionCount": served.statistics.executionCount,
                ],
            ]
        }
        return try encode(described)
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
        guard let entry = server.manager.repository.entry(named: name) else {
            throw SwerveError.notFound("Model not found in model store: \(url)")
        }
        guard server.manager.readyVersions(name).isEmpty else {
            throw SwerveError(.alreadyExists, "Model \(name) is already registered; scale it with PUT /models/\(name)?min_worker=N or unregister it first")
        }
        var config = try entry.configText.map(ModelConfigText.parse)?.config ?? Inference_ModelConfig()
        if let workers = try intParameter(query, "initial_workers", in: Self.workerRange) {
            config.instanceGroup = [instanceGroup(name, count: workers)]
        }
        if let batch = try intParameter(query, "batch_size", in: Self.batchSizeRange) {
            config.maxBatchSize = Int32(batch)
        }
        if let delay = try intParameter(query, "max_batch_delay", in: Self.batchDelayRange) {
            var dynamic = config.dynamicBatching
            dynamic.maxQueueDelayMicroseconds = UInt64(delay) * 1000
            config.dynamicBatching = dynamic
        }
        let versions = try await server.manager.load(name, override: ModelOverride(configJSON: try configJSON(config)))
        let workers = max(1, Int(config.instanceGroup.reduce(0) { $0 + $1.count }))
        return status("Model \"\(name)\" Version: \(versions.max() ?? 0) registered with \(workers) initial workers")
    }

    /// `PUT /models/{m}?min_worker=N`: reloads the model with N instances; the old ones serve until
    /// the new ones are ready. The versions served stay those served now (a version unregistered
    /// with `DELETE /models/{m}/{v}` does not come back).
    private func scale(_ name: String, _ query: Parameters) async throws -> Response {
        let served = try TorchServeLookup.resolve(server, model: name, version: nil)
        guard let workers = try intParameter(query, "min_worker", in: Self.workerRange) ?? intParameter(query, "max_worker", in: Self.workerRange) else {
            throw SwerveError.invalid("Parameter min_worker is required.")
        }
        var config = served.config
        config.instanceGroup = [instanceGroup(name, count: workers)]
        let ready = server.manager.readyVersions(name)
        let available = server.manager.repository.entry(named: name)?.versions ?? []
        if VersionPolicy(config.versionPolicy).select(from: available) != ready {
            var specific = Inference_ModelVersionPolicy.Specific()
            specific.versions = ready.map(Int64.init)
            config.versionPolicy.specific = specific
        }
        try await server.manager.load(name, override: ModelOverride(configJSON: try configJSON(config)))
        return status("Workers updated: model \"\(name)\" has \(workers) workers")
    }

    private func instanceGroup(_ name: String, count: Int) -> Inference_ModelInstanceGroup {
        var group = Inference_ModelInstanceGroup()
        group.name = name
        group.kind = .cpu
        group.count = Int32(count)
        return group
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

    private func configJSON(_ config: Inference_ModelConfig) throws -> String {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        return try config.jsonString(options: options)
    }

    private func status(_ message: String) -> Response {
        var writer = JSONWriter()
        writer.raw("{\"status\":")
        writer.string(message)
        writer.raw("}")
        return jsonResponse(writer.bytes)
    }

    private func encode(_ object: Any) throws -> [UInt8] {
        Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
