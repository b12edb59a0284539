import Foundation
import Hummingbird
import Prometheus
import SwerveCore

/// The Prometheus endpoint (`GET /metrics` on the metrics port): Triton's inference metrics
/// recorded by the core, and process metrics read when scraped.
public struct MetricsRoutes: Sendable {
    let registry: PrometheusCollectorRegistry
    let server: InferenceServer
    let residentMemory: Gauge
    let loadedVersions: Gauge

    /// Creates the endpoint over the registry the process's metrics factory writes to.
    public init(registry: PrometheusCollectorRegistry, server: InferenceServer) {
        self.registry = registry
        self.server = server
        residentMemory = registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory of the process in bytes.")
        loadedVersions = registry.makeGauge(name: "swerve_loaded_model_versions", help: "Model versions loaded and ready.")
    }

    /// Builds the router; errors are `{"error": "..."}` as on the KServe v2 port.
    public func makeRouter() -> Router<SwerveRequestContext> {
        makeTable().router
    }

    /// The route table behind ``makeRouter()``.
    func makeTable() -> RouteTable {
        let table = RouteTable(errorFormat: .kserve)
        // Never restricted, as in Triton: read-only counters for scrapers, which send no key.
        table.get("/metrics", category: nil) { _, _ in
            if let rss = ProcessMemory.residentBytes() { residentMemory.set(Double(rss)) }
            loadedVersions.set(Double(server.modelStatuses().filter { $0.state == .ready }.count))
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return table
    }
}
