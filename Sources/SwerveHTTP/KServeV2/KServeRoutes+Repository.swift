import Foundation
import Hummingbird
import SwerveCore

/// Triton's model repository extension: index, load (with config and file overrides), unload.
extension KServeRoutes {
    struct IndexRequest: Decodable { var ready: Bool? }

    /// `{"parameters": {"config": "<json>", "file:<path>": "<base64>"}}`: the file contents travel
    /// in base64, which is decoded here; what the parameters mean is the core's to say.
    struct LoadRequest: Decodable {
        var parameters: [String: ModelOverride.Parameter]?

        private enum CodingKeys: String, CodingKey { case parameters }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            guard container.contains(.parameters) else { return }
            let values = try container.decode([String: JSONValue].self, forKey: .parameters)
            var parameters: [String: ModelOverride.Parameter] = [:]
            for (key, value) in values {
                switch value {
                case .string(let text) where key.hasPrefix("file:"):
                    guard let bytes = Data(base64Encoded: text, options: .ignoreUnknownCharacters) else {
                        throw SwerveError.invalid("parameter '\(key.prefix(256))' must hold the file's contents in base64")
                    }
                    parameters[key] = .bytes(Array(bytes))
                case .string(let text): parameters[key] = .string(text)
                case .bool: parameters[key] = .other("a boolean")
                case .int, .uint, .double: parameters[key] = .other("a number")
                case .null, .array, .object: parameters[key] = .other("an object, array or null")
                }
            }
            self.parameters = parameters
        }
    }

    func addRepositoryRoutes(to table: RouteTable) {
        table.post("/v2/repository/index", category: .modelRepository) { request, _ in
            let body = try await options.collectBody(request)
            let readyOnly = body.isEmpty ? false : try decodeJSON(IndexRequest.self, body).ready ?? false
            let rows = server.repositoryIndex(readyOnly: readyOnly).map { row -> JSONValue in
                var object: [String: JSONValue] = ["name": .string(row.name)]
                if let version = row.version { object["version"] = .string(String(version)) }
                if let state = row.state { object["state"] = .string(state) }
                if let reason = row.reason { object["reason"] = .string(reason) }
                // Swerve's own field beside Triton's four (gRPC's message has no room for it).
                if let bytes = row.memoryBytes { object["memory_bytes"] = .int(Int64(bytes)) }
                return .object(object)
            }
            return jsonResponse(JSONValue.array(rows).encoded())
        }
        table.post("/v2/repository/models/:model/load", category: .modelRepository) { request, context in
            let name = context.parameters.get("model") ?? ""
            let body = try await options.collectBody(request)
            let parameters = try body.isEmpty ? nil : decodeJSON(LoadRequest.self, body).parameters
            try await server.loadModel(name, override: try ModelOverride.parse(parameters ?? [:]))
            return Response(status: .ok)
        }
        table.post("/v2/repository/models/:model/unload", category: .modelRepository) { request, context in
            let name = context.parameters.get("model") ?? ""
            _ = try await options.collectBody(request)
            try await server.unloadModel(name)
            return Response(status: .ok)
        }
        for action in ["index", "models/:model/load", "models/:model/unload"] {
            table.post("/v2/repository/:repository/" + action, category: .modelRepository) { _, _ in
                throw SwerveError(.unsupported, "'repository_name' specification is not supported")
            }
        }
    }
}
