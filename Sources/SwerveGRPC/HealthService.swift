import GRPCCore
import SwerveCore

/// The standard `grpc.health.v1.Health` service: `SERVING` once the server is ready.
///
/// The overall server (`""`) and `inference.GRPCInferenceService` are known services; any other
/// name is `NOT_FOUND`, as the health checking protocol asks.
struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    /// The core whose readiness is reported.
    let server: InferenceServer

    /// The service names this server answers for.
    static let knownServices: Set<String> = ["", "inference.GRPCInferenceService"]

    func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard Self.knownServices.contains(request.service) else {
            throw RPCError(code: .notFound, message: "unknown service '\(request.service.prefix(200))'")
        }
        return .with { $0.status = server.isReady ? .serving : .notServing }
    }
}
