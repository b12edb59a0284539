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
                return await infer(request, context: context, model: name, version: version)
            }
        }
    }

    // MARK: - Inference

    /// The translation of an inference request, shared with the event-loop fast path.
    var inference: KServeInference { KServeInference(server: server, options: options) }

    private func infer(_ request: Request, context: SwerveRequestContext, model: String, version: Int?) async -> Response {
        await inference.answer(
            model: model, version: version, fields: RequestFields(request.headers), channel: context.channel, logger: context.logger,
            requestTag: context.id
        ) {
            try await options.collectBody(request)
        }.response
    }
}
