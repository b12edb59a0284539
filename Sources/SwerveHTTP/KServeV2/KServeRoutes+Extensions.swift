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
                table.get(status) { _, _ in jsonResponse(Array("[]".utf8)) }
            }
            for unregister in ["/v2/\(path)/unregister", "/v2/\(path)/region/:region/unregister"] {
                table.post(unregister) { request, _ in
                    _ = try await options.collectBody(request)
                    return Response(status: .ok)
                }
            }
            table.post("/v2/\(path)/region/:region/register") { request, _ in
                _ = try await options.collectBody(request)
                try server.registerSharedMemory(kind)
                return Response(status: .ok)
            }
        }
        table.get("/v2/logging") { _, _ in jsonResponse(try settings.logging()) }
        table.post("/v2/logging") { request, _ in
            jsonResponse(try settings.updateLogging(try await options.collectBody(request)))
        }
        for path in ["/v2/trace/setting", "/v2/models/:model/trace/setting"] {
            table.get(path) { _, _ in jsonResponse(try settings.trace()) }
            table.post(path) { request, _ in
                jsonResponse(try settings.updateTrace(try await options.collectBody(request)))
            }
        }
    }
}

/// Logging and trace settings as Triton reports them. Swerve keeps them so clients that read and
/// write them work; tracing itself is not implemented, so the trace level stays `OFF`.
final class FrontendSettings: Sendable {
    private let loggingState = Mutex<[String: LoggingValue]>([
        "log_file": .string(""), "log_info": .bool(true), "log_warning": .bool(true), "log_error": .bool(true),
        "log_verbose_level": .int(0), "log_format": .string("default"),
    ])

    enum LoggingValue: Sendable, Equatable {
        case string(String)
        case bool(Bool)
        case int(Int)
    }

    func logging() throws -> [UInt8] {
        let values = loggingState.withLock { $0 }
        var object: [String: Any] = [:]
        for (key, value) in values {
            switch value {
            case .string(let v): object[key] = v
            case .bool(let v): object[key] = v
            case .int(let v): object[key] = v
            }
        }
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    func updateLogging(_ body: [UInt8]) throws -> [UInt8] {
        try JSONNesting.check(body)
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw SwerveError.invalid("the logging settings must be a JSON object")
        }
        try loggingState.withLock { state in
            for (key, value) in object {
                guard let current = state[key] else {
                    throw SwerveError.invalid("unknown logging setting '\(key)'")
                }
                switch (current, value) {
                case (.string, let v as String): state[key] = .string(v)
                case (.bool, let v as Bool): state[key] = .bool(v)
                case (.int, let v as Int): state[key] = .int(v)
                default: throw SwerveError.invalid("logging setting '\(key)' has the wrong type")
                }
            }
        }
        return try logging()
    }

    func trace() throws -> [UInt8] {
        let object: [String: Any] = [
            "trace_file": "", "trace_level": ["OFF"], "trace_rate": "1000", "trace_count": "-1", "log_frequency": "0",
        ]
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }

    func updateTrace(_ body: [UInt8]) throws -> [UInt8] {
        try JSONNesting.check(body)
        guard (try? JSONSerialization.jsonObject(with: Data(body))) is [String: Any] else {
            throw SwerveError.invalid("the trace settings must be a JSON object")
        }
        return try trace()
    }
}
