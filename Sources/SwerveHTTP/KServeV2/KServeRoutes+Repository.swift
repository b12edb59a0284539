import Foundation
import Hummingbird
import SwerveCore

/// Triton's model repository extension: index, load (with config and file overrides), unload.
extension KServeRoutes {
    struct IndexRequest: Decodable { var ready: Bool? }

    func addRepositoryRoutes(to table: RouteTable) {
        table.post("/v2/repository/index") { request, _ in
            let body = try await collectBody(request)
            let readyOnly = body.isEmpty ? false : try decodeJSON(IndexRequest.self, body).ready ?? false
            let rows = server.repositoryIndex(readyOnly: readyOnly).map { row -> [String: String] in
                var object = ["name": row.name]
                if let version = row.version { object["version"] = String(version) }
                if let state = row.state { object["state"] = state }
                if let reason = row.reason { object["reason"] = reason }
                return object
            }
            return jsonResponse(try MetadataJSON.encode(rows))
        }
        table.post("/v2/repository/models/:model/load") { request, context in
            let name = context.parameters.get("model") ?? ""
            let body = try await collectBody(request)
            let override = try body.isEmpty ? nil : parseLoadParameters(body)
            do {
                try await server.loadModel(name, override: override)
            } catch let error as SwerveError where error.code == .notFound {
                throw SwerveError.invalid("failed to load '\(name)': \(error.message)")
            }
            return Response(status: .ok)
        }
        table.post("/v2/repository/models/:model/unload") { request, context in
            let name = context.parameters.get("model") ?? ""
            _ = try await collectBody(request)
            try await server.unloadModel(name)
            return Response(status: .ok)
        }
        for action in ["index", "models/:model/load", "models/:model/unload"] {
            table.post("/v2/repository/:repository/" + action) { _, _ in
                throw SwerveError(.unsupported, "'repository_name' specification is not supported")
            }
        }
    }

    /// Reads `{"parameters": {"config": "<json>", "file:<path>": "<base64>"}}`.
    private func parseLoadParameters(_ body: [UInt8]) throws -> ModelOverride? {
        try JSONNesting.check(body)
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw SwerveError.invalid("the load request body must be a JSON object")
        }
        guard let parameters = object["parameters"] else { return nil }
        guard let parameters = parameters as? [String: Any] else {
            throw SwerveError.invalid("'parameters' must be a JSON object")
        }
        var configJSON: String?
        var files: [String: [UInt8]] = [:]
        for (key, value) in parameters {
            if key == "config" {
                guard let text = value as? String else {
                    throw SwerveError.invalid("the 'config' parameter must be a string holding the model configuration JSON")
                }
                configJSON = text
            } else if key.hasPrefix("file:") {
                guard let text = value as? String, let bytes = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
                    throw SwerveError.invalid("parameter '\(key)' must hold the file's contents in base64")
                }
                files[String(key.dropFirst(5))] = Array(bytes)
            }
        }
        if configJSON == nil && files.isEmpty { return nil }
        return ModelOverride(configJSON: configJSON, files: files)
    }
}

/// Decodes a small JSON body, mapping decoding errors to 400.
func decodeJSON<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
    try JSONNesting.check(body)
    do {
        return try JSONDecoder().decode(type, from: Data(body))
    } catch let error as DecodingError {
        throw SwerveError.invalid("invalid JSON body: \(JSONErrorDescription.describe(error))")
    }
}
