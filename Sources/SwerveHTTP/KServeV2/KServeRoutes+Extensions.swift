import Foundation
import Hummingbird
import SwerveCore
import Synchronization

/// Triton extensions clients probe: shared memory (answered by the core as Triton answers without
/// the feature), logging settings and trace settings.
extension KServeRoutes {
    func addExtensionRoutes(to table: RouteTable) {
        for (path, kind) in [("systemsharedmemory", SharedMemoryKind.system), ("cudasharedmemory", .cuda)] {
            for status in ["/v2/\(path)/status", "/v2/\(path)/region/:region/status"] {
                table.get(status, category: .sharedMemory) { _, _ in jsonResponse(Array("[]".utf8)) }
            }
            for unregister in ["/v2/\(path)/unregister", "/v2/\(path)/region/:region/unregister"] {
                table.post(unregister, category: .sharedMemory) { request, _ in
                    _ = try await options.collectBody(request)
                    return Response(status: .ok)
                }
            }
            table.post("/v2/\(path)/region/:region/register", category: .sharedMemory) { request, _ in
                _ = try await options.collectBody(request)
                try server.registerSharedMemory(kind)
                return Response(status: .ok)
            }
        }
        table.get("/v2/logging", category: .logging) { _, _ in jsonResponse(settings.logging()) }
        table.post("/v2/logging", category: .logging) { request, _ in
            jsonResponse(try settings.updateLogging(try await options.collectBody(request)))
        }
        for path in ["/v2/trace/setting", "/v2/models/:model/trace/setting"] {
            table.get(path, category: .trace) { _, _ in jsonResponse(settings.trace()) }
            table.post(path, category: .trace) { request, _ in
                jsonResponse(try settings.updateTrace(try await options.collectBody(request)))
            }
        }
    }
}

/// Logging and trace settings as Triton reports them. Swerve keeps them so clients that read and
/// write them work; tracing itself is not implemented, so the trace level stays `OFF`.
final class FrontendSettings: Sendable {
    /// The logging settings; an update may change a value but not its JSON type.
    private let loggingState = Mutex<[String: JSONValue]>([
        "log_file": "", "log_info": true, "log_warning": true, "log_error": true, "log_verbose_level": 0, "log_format": "default",
    ])

    func logging() -> [UInt8] {
        JSONValue.object(loggingState.withLock { $0 }).encoded()
    }

    /// Applies every setting of `body`, a JSON object, or none when one is unknown or of the
    /// wrong type; answers the settings after the update.
    func updateLogging(_ body: [UInt8]) throws -> [UInt8] {
        guard case .object(let updates) = try decodeJSON(JSONValue.self, body) else {
            throw SwerveError.invalid("the logging settings must be a JSON object")
        }
        try loggingState.withLock { state in
            for (key, value) in updates {
                guard let current = state[key] else {
                    throw SwerveError.invalid("unknown logging setting '\(key)'")
                }
                switch (current, value) {
                case (.string, .string), (.bool, .bool), (.int, .int): break
                default: throw SwerveError.invalid("logging setting '\(key)' has the wrong type")
                }
            }
            state.merge(updates) { _, new in new }
        }
        return logging()
    }

    func trace() -> [UInt8] {
        let settings: JSONValue = [
            "trace_file": "", "trace_level": ["OFF"], "trace_rate": "1000", "trace_count": "-1", "log_frequency": "0",
        ]
        return settings.encoded()
    }

    /// Checks that `body` is a JSON object; the settings stay as they are.
    func updateTrace(_ body: [UInt8]) throws -> [UInt8] {
        guard case .object = try decodeJSON(JSONValue.self, body) else {
            throw SwerveError.invalid("the trace settings must be a JSON object")
        }
        return trace()
    }
}
