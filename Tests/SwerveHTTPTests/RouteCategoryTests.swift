import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import SwerveCore
import SwerveTesting
import Testing

@testable import SwerveHTTP

/// Every HTTP route belongs to a restriction category (`--http-restricted-api`), and a restricted
/// one answers 403 in the listener's error format without its header and key.
struct RouteCategoryTests {
    /// A server over a fake backend with one model, `m`.
    func withServer(_ body: (InferenceServer) async throws -> Void) async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m")
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["m": .identity()]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        let server = InferenceServer(manager: manager, info: ServerInfo(extensions: KServeRoutes.extensions))
        try await server.start()
        try await body(server)
        await manager.shutdown()
    }

    /// Every route of every listener and its category, written out: a route added without
    /// being listed here, or moved to another category, fails `everyRouteHasTheListedCategory`.
    static let expected: [String: [String: RestrictedCategory?]] = {
        var kserve: [String: RestrictedCategory?] = [
            "GET /v2/health/live": .health, "GET /v2/health/ready": .health, "GET /v2": .metadata,
            "GET /v2/models/stats": .statistics,
            "POST /v2/repository/index": .modelRepository,
            "POST /v2/repository/models/:model/load": .modelRepository,
            "POST /v2/repository/models/:model/unload": .modelRepository,
            "POST /v2/repository/:repository/index": .modelRepository,
            "POST /v2/repository/:repository/models/:model/load": .modelRepository,
            "POST /v2/repository/:repository/models/:model/unload": .modelRepository,
            "GET /v2/logging": .logging, "POST /v2/logging": .logging,
            "GET /v2/trace/setting": .trace, "POST /v2/trace/setting": .trace,
            "GET /v2/models/:model/trace/setting": .trace, "POST /v2/models/:model/trace/setting": .trace,
            // KServe v1 beside v2 (--allow-kserve-v1).
            "GET /v1/models": .metadata, "GET /v1/models/:model": .health, "POST /v1/models/:model": .inference,
        ]
        for prefix in ["/v2/models/:model", "/v2/models/:model/versions/:version"] {
            kserve["GET \(prefix)"] = .metadata
            kserve["GET \(prefix)/ready"] = .health
            kserve["GET \(prefix)/config"] = .modelConfig
            kserve["POST \(prefix)/infer"] = .inference
            kserve["GET \(prefix)/stats"] = .statistics
        }
        for kind in ["systemsharedmemory", "cudasharedmemory"] {
            for route in ["GET /v2/\(kind)/status", "GET /v2/\(kind)/region/:region/status", "POST /v2/\(kind)/unregister",
                          "POST /v2/\(kind)/region/:region/unregister", "POST /v2/\(kind)/region/:region/register"] {
                kserve[route] = .sharedMemory
            }
        }
        let management: [String: RestrictedCategory?] = [
            "GET /models", "GET /models/:model", "GET /models/:model/:version", "POST /models", "PUT /models/:model",
            "PUT /models/:model/:version/set-default", "DELETE /models/:model", "DELETE /models/:model/:version",
        ].reduce(into: [:]) { $0[$1] = .modelRepository }
        return [
            "KServe v2": kserve,
            "TorchServe inference": [
                "GET /ping": .health,
                "POST /predictions/:model": .inference, "PUT /predictions/:model": .inference,
                "POST /predictions/:model/:version": .inference, "PUT /predictions/:model/:version": .inference,
            ],
            "TorchServe management": management,
            "TF Serving": [
                "GET /v1/models/:model": .metadata, "GET /v1/models/:model/versions/:version": .metadata,
                "GET /v1/models/:model/metadata": .metadata, "GET /v1/models/:model/versions/:version/metadata": .metadata,
                "POST /v1/models/:model": .inference, "POST /v1/models/:model/versions/:version": .inference,
            ],
            // Never restricted, as in Triton.
            "metrics": ["GET /metrics": Optional<RestrictedCategory>.none],
        ]
    }()

    /// Walks the route table of every listener: each route is listed with its category, and
    /// each listed route exists.
    @Test func everyRouteHasTheListedCategory() async throws {
        try await withServer { server in
            let options = HTTPFrontendOptions()
            let none = RestrictedFeatures(flag: .httpRestrictedAPI)
            let tables: [String: RouteTable] = [
                "KServe v2": KServeRoutes(server: server, options: options, servesV1: true).makeTable(restrictions: none),
                "TorchServe inference": TorchServeInferenceRoutes(server: server, options: options).makeTable(restrictions: none),
                "TorchServe management": TorchServeManagementRoutes(server: server).makeTable(restrictions: none),
                "TF Serving": TFServingRoutes(server: server, options: options).makeTable(restrictions: none),
                "metrics": MetricsRoutes(registry: PrometheusCollectorRegistry(), server: server).makeTable(),
            ]
            #expect(Set(tables.keys) == Set(Self.expected.keys))
            for (listener, table) in tables {
                let expected = try #require(Self.expected[listener])
                var seen = Set<String>()
                for route in table.routes {
                    let key = "\(route.method) \(route.path)"
                    #expect(seen.insert(key).inserted, "\(listener): \(key) registered twice")
                    guard let category = expected[key] else {
                        Issue.record("\(listener): route \(key) (category \(route.category?.name ?? "none")) is not listed in RouteCategoryTests.expected")
                        continue
                    }
                    #expect(route.category == category, "\(listener): \(key)")
                }
                for key in expected.keys where !seen.contains(key) {
                    Issue.record("\(listener): listed route \(key) is not registered")
                }
            }
        }
    }

    /// A restricted category answers 403 in the KServe format naming the header; with the key it
    /// runs; other categories stay open; unknown paths stay 404.
    @Test func restrictedKServeRoutesNeedTheKey() async throws {
        try await withServer { server in
            let restrictions = try RestrictedFeatures(
                RestrictionSpec.parse(["model-repository,inference:Admin-Key=k3y"], flag: .httpRestrictedAPI),
                flag: .httpRestrictedAPI, environment: [:])
            let app = Application(router: KServeRoutes(server: server, options: HTTPFrontendOptions()).makeRouter(restrictions: restrictions))
            try await app.test(.router) { client in
                let refused = try await client.execute(uri: "/v2/repository/index", method: .post)
                #expect(refused.status == .forbidden)
                #expect(refused.headers[.contentType] == "application/json")
                #expect(String(buffer: refused.body) == #"{"error":"This API is restricted, expecting header 'Admin-Key'"}"#)
                let wrong = try await client.execute(uri: "/v2/models/m/infer", method: .post, headers: [HTTPField.Name("admin-key")!: "k3"],
                                                     body: ByteBuffer(string: "{}"))
                #expect(wrong.status == .forbidden)
                let allowed = try await client.execute(uri: "/v2/repository/index", method: .post, headers: [HTTPField.Name("admin-key")!: "k3y"])
                #expect(allowed.status == .ok)
                #expect(try await client.execute(uri: "/v2/health/ready", method: .get).status == .ok)
                #expect(try await client.execute(uri: "/v2/models/m", method: .get).status == .ok)
                #expect(try await client.execute(uri: "/v2/no/such/path", method: .get).status == .notFound)
            }
        }
    }

    /// The TorchServe management API answers a missing key in TorchServe's error format.
    @Test func restrictedManagementRoutesAnswerInTorchServesFormat() async throws {
        try await withServer { server in
            let restrictions = try RestrictedFeatures(
                RestrictionSpec.parse(["model-repository:x-admin=k"], flag: .httpRestrictedAPI), flag: .httpRestrictedAPI, environment: [:])
            let app = Application(router: TorchServeManagementRoutes(server: server).makeRouter(restrictions: restrictions))
            try await app.test(.router) { client in
                let refused = try await client.execute(uri: "/models", method: .get)
                #expect(refused.status == .forbidden)
                #expect(String(buffer: refused.body)
                    == #"{"code":403,"type":"InvalidKeyException","message":"This API is restricted, expecting header 'x-admin'"}"#)
                let allowed = try await client.execute(uri: "/models", method: .get, headers: [HTTPField.Name("X-Admin")!: "k"])
                #expect(allowed.status == .ok)
            }
        }
    }
}
