/// The port each listener gets. `--http-port` and `--grpc-port` are taken as given (0, or
/// `--allow-http=false` / `--allow-grpc=false`, turns one off). The other listeners' defaults
/// (8002, 8080, 8081, 8501) yield to a port given to another listener: KServe starts Triton with
/// `--http-port=8080`, which would otherwise collide with the TorchServe-style API's default, so
/// that API is then off unless `--torchserve-port` names a port for it.
extension ServeCommand {
    /// The KServe v2 HTTP endpoint's port; 0 when off.
    var httpListenPort: Int { triton.allowHTTP ? httpPort : 0 }

    /// The KServe v2 gRPC endpoint's port; 0 when off.
    var grpcListenPort: Int { triton.allowGRPC ? grpcPort : 0 }

    /// The Prometheus endpoint's port; 0 when off.
    var metricsPort: Int { allowMetrics ? port(metricsPortFlag, default: 8002) : 0 }

    /// The TorchServe-style inference API's port; 0 when off.
    var torchservePort: Int { port(torchservePortFlag, default: 8080) }

    /// The TorchServe-style management API's port; 0 when off.
    var torchserveManagementPort: Int { port(torchserveManagementPortFlag, default: 8081) }

    /// The TensorFlow Serving REST endpoint's port; 0 when off.
    var tfservingPort: Int { port(tfservingPortFlag, default: 8501) }

    /// Listeners whose default port another listener was given, and so are off.
    var listenersGivingWay: [String] {
        [("--metrics-port", allowMetrics ? metricsPortFlag : 0, 8002), ("--torchserve-port", torchservePortFlag, 8080),
         ("--torchserve-management-port", torchserveManagementPortFlag, 8081), ("--tfserving-port", tfservingPortFlag, 8501)]
            .filter { $0.1 == nil && claimedPorts.contains($0.2) }
            .map { "\($0.0) (its default \($0.2) is taken)" }
    }

    private func port(_ given: Int?, default fallback: Int) -> Int {
        given ?? (claimedPorts.contains(fallback) ? 0 : fallback)
    }

    /// Ports given on the command line (and the HTTP and gRPC endpoints', which are always theirs).
    private var claimedPorts: Set<Int> {
        Set([httpListenPort, grpcListenPort, metricsPortFlag, torchservePortFlag, torchserveManagementPortFlag, tfservingPortFlag]
            .compactMap { $0 }.filter { $0 != 0 })
    }
}
