import Hummingbird
import SwerveCore

/// KServe's v1 protocol ("V1 Inference Protocol"), which `swerve serve --allow-kserve-v1=true`
/// mounts on the KServe v2 HTTP listener beside the v2 routes, as KServe's own model server does:
/// - `GET /v1/models`: `{"models": [<name>, …]}`, the models with a ready version;
/// - `GET /v1/models/<m>`: `{"name": "<m>", "ready": true}` when the model is ready; a model that
///   is not ready is 503 and an unknown one 404, each with `{"error": …}`, as KServe answers;
/// - `POST /v1/models/<m>:predict`: TensorFlow Serving's `:predict` (`instances` →
///   `predictions`, or `inputs` → `outputs`), the same translation as on the TF Serving port.
///
/// The TF Serving port keeps TF Serving's own status shape (`{"model_version_status": [...]}`)
/// for `GET /v1/models/<m>`.
extension TFServingRoutes {
    /// Adds KServe's v1 routes to a table that answers errors in the KServe format.
    func addKServeV1Routes(to table: RouteTable) {
        table.get("/v1/models", category: .metadata) { _, _ in
            let names = Set(server.modelStatuses().filter { $0.state == .ready }.map(\.name)).sorted()
            return jsonResponse(JSONValue.object(["models": .array(names.map { .string($0) })]).encoded())
        }
        table.get("/v1/models/:model", category: .health) { _, context in
            let name = context.parameters.get("model") ?? ""
            let ready: Bool
            do {
                ready = try await server.isModelReady(name, version: nil)
            } catch let error as SwerveError where error.code == .notFound {
                throw SwerveError.notFound("Model with name \(name) does not exist.")
            }
            guard ready else { throw SwerveError.unavailable("Model with name \(name) is not ready.") }
            return jsonResponse(JSONValue.object(["name": .string(name), "ready": true]).encoded())
        }
        table.post("/v1/models/:model", category: .inference) { request, context in
            let (name, method) = try splitMethod(context.parameters.get("model") ?? "")
            if method == "explain" {
                // KServe answers 501 for a model without an explainer.
                throw SwerveError(.unsupported, "model '\(name)' has no explainer: Swerve serves ':predict'")
            }
            return try await context.untilDisconnect { signal in
                try await predict(request, model: name, version: nil, method: method, cancellation: signal)
            }
        }
    }
}
