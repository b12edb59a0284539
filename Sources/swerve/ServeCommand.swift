import ArgumentParser
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle
import SwerveCore
import SwerveGRPC
import SwerveHTTP
import SwerveONNXRuntime
import SwerveTLS

/// `swerve serve`: loads the repository's models and serves them until SIGINT or SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the models of a repository over KServe v2 HTTP and gRPC, TorchServe's inference and management APIs, and TensorFlow Serving REST.",
        discussion: "Stops cleanly on SIGINT or SIGTERM: new connections are refused, requests in flight finish. With --tls-cert, SIGHUP rereads the certificate and key for new connections."
    )

    @OptionGroup var common: CommonOptions
    @OptionGroup(title: "Triton's flags") var triton: TritonFlags
    @OptionGroup(title: "TLS") var tls: TLSOptions
    @OptionGroup(title: "Limits") var limits: LimitOptions
    @OptionGroup(title: "Access control") var access: AccessOptions

    @Option(name: .long, help: ArgumentHelp("Port of the KServe v2 HTTP endpoint.", valueName: "port"))
    var httpPort: Int = 8000

    @Option(name: .customLong("allow-kserve-v1"), help: ArgumentHelp("Also serve KServe's v1 protocol on the KServe v2 HTTP port (true or false): POST /v1/models/<m>:predict (TF Serving's request and answer), GET /v1/models/<m> ({\"name\", \"ready\"}) and GET /v1/models.", valueName: "bool"))
    var allowKServeV1: Bool = false

    @Option(name: .long, help: ArgumentHelp("Address the HTTP endpoint listens on.", valueName: "address"))
    var httpAddress: String = "0.0.0.0"

    @Option(name: .long, help: ArgumentHelp("Port of the KServe v2 gRPC endpoint; 0 turns it off.", valueName: "port"))
    var grpcPort: Int = 8001

    @Option(name: .long, help: ArgumentHelp("IP address the gRPC endpoint listens on.", valueName: "address"))
    var grpcAddress: String = "0.0.0.0"

    @Option(name: .long, help: ArgumentHelp("Largest gRPC request message in bytes; larger ones get RESOURCE_EXHAUSTED.", valueName: "bytes"))
    var grpcMaxMessageSize: Int = 64 << 20

    @Option(name: .customLong("torchserve-port"), help: ArgumentHelp("Port of the TorchServe-style inference API (/ping, /predictions); 0 turns it off. Default 8080, or off when another listener is given that port (--http-port=8080, as KServe runs Triton).", valueName: "port"))
    var torchservePortFlag: Int?

    @Option(name: .customLong("torchserve-management-port"), help: ArgumentHelp("Port of the TorchServe-style management API (/models), on --torchserve-management-address (127.0.0.1 by default); 0 turns it off. Default 8081, or off when another listener is given that port.", valueName: "port"))
    var torchserveManagementPortFlag: Int?

    @Option(name: .customLong("tfserving-port"), help: ArgumentHelp("Port of the TensorFlow Serving REST endpoint (:predict); 0 turns it off. Default 8501, or off when another listener is given that port.", valueName: "port"))
    var tfservingPortFlag: Int?

    @Option(name: .long, help: ArgumentHelp("Threads of ONNX Runtime's one intra-op pool, shared by every model and instance (default: the CPUs this process may use).", valueName: "n"))
    var intraOpThreads: Int?

    @Option(name: .long, help: ArgumentHelp("Largest request body in bytes; larger bodies get 413.", valueName: "bytes"))
    var maxRequestSize: Int = 64 << 20

    @Option(name: .long, help: ArgumentHelp("Seconds a SIGTERM/SIGINT waits for queued requests before failing them with 503 / UNAVAILABLE (requests already running always finish).", valueName: "seconds"))
    var exitTimeoutSecs: Double = 30

    @Option(name: .customLong("metrics-port"), help: ArgumentHelp("Port of the Prometheus metrics endpoint (/metrics); 0 turns it off. Default 8002, or off when another listener is given that port.", valueName: "port"))
    var metricsPortFlag: Int?

    @Option(name: .long, help: ArgumentHelp("Serve Prometheus metrics (true or false).", valueName: "bool"))
    var allowMetrics: Bool = true

    @Option(name: .long, help: ArgumentHelp("Buckets in seconds of the latency histograms, comma-separated.", valueName: "list"))
    var metricsHistogramBuckets: String = "0.0001,0.00025,0.0005,0.001,0.0025,0.005,0.01,0.025,0.05,0.1,0.25,0.5,1,2.5,5,10"

    @Option(name: .long, help: ArgumentHelp("none: load every model at start; poll: also rescan the repository for changes; explicit: load only --load-model models, then what the repository APIs ask for (KServe load/unload, TorchServe register/scale/unregister), which none and poll refuse; lazy: index the repository at start and load each model version on its first request (--load-model models are loaded at start and never evicted), the repository APIs working as in explicit.", valueName: "mode"))
    var modelControlMode: ModelControlMode = .none

    @Option(name: .long, help: ArgumentHelp("Seconds between repository scans in poll mode.", valueName: "seconds"))
    var repositoryPollSecs: Double = 15

    @Option(name: .long, help: ArgumentHelp("A model to load at start in explicit mode (repeatable; '*' loads all); in lazy mode, a model loaded at start and pinned (never evicted).", valueName: "name"))
    var loadModel: [String] = []

    @Option(name: .long, help: ArgumentHelp("Lazy mode: the most memory the loaded model versions may take together, in bytes or with K, M, G or T (powers of 1024: 512M, 2G). The least recently used idle versions are evicted to make room; a version larger than the budget is refused with 507 / RESOURCE_EXHAUSTED. Default: no limit.", valueName: "size"))
    var modelMemoryBudget: String?

    func validate() throws {
        guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port must be between 0 and 65535") }
        guard (0...65535).contains(grpcPort) else { throw ValidationError("--grpc-port must be between 0 and 65535") }
        guard grpcMaxMessageSize > 0 else { throw ValidationError("--grpc-max-message-size must be positive") }
        if let threads = intraOpThreads, threads < 1 { throw ValidationError("--intra-op-threads must be at least 1") }
        guard maxRequestSize > 0 else { throw ValidationError("--max-request-size must be positive") }
        guard exitTimeoutSecs >= 0, exitTimeoutSecs <= 86_400 else { throw ValidationError("--exit-timeout-secs must be between 0 and 86400") }
        for (flag, port) in [("--torchserve-port", torchservePortFlag), ("--torchserve-management-port", torchserveManagementPortFlag),
                             ("--tfserving-port", tfservingPortFlag), ("--metrics-port", metricsPortFlag)] {
            if let port, !(0...65535).contains(port) { throw ValidationError("\(flag) must be between 0 and 65535") }
        }
        guard repositoryPollSecs > 0 else { throw ValidationError("--repository-poll-secs must be positive") }
        if modelMemoryBudget != nil {
            guard modelControlMode == .lazy else {
                throw ValidationError("--model-memory-budget needs --model-control-mode lazy (only lazy mode can evict a model and load it again when asked)")
            }
            _ = try memoryBudgetBytes()
        }
        _ = try histogramBuckets()
    }

    func run() async throws {
        common.bootstrapLogging(level: triton.logLevel(over: common.logLevel))
        Malloc.keepRequestBuffers()
        let logger = Logger(label: "swerve")
        try PortCheck.ensureAvailable([
            .init(name: "KServe v2 HTTP endpoint", flag: "--http-port", address: httpAddress, port: httpListenPort),
            .init(name: "KServe v2 gRPC endpoint", flag: "--grpc-port", address: grpcAddress, port: grpcListenPort),
            .init(name: "Prometheus metrics endpoint", flag: "--metrics-port", address: httpAddress, port: metricsPort),
            .init(name: "TensorFlow Serving REST endpoint", flag: "--tfserving-port", address: httpAddress, port: tfservingPort),
            .init(name: "TorchServe inference API", flag: "--torchserve-port", address: httpAddress, port: torchservePort),
            .init(name: "TorchServe management API", flag: "--torchserve-management-port", address: access.torchserveManagementAddress, port: torchserveManagementPort),
        ])
        let serverTLS = try tls.load()
        let restrictions = try access.restrictions()
        AccessOptions.log(restrictions, logger: logger)
        for listener in listenersGivingWay { logger.notice("\(listener): turned off; give it a port to serve it") }
        let (backend, backends) = try common.makeBackends(intraOpThreads: intraOpThreads)
        let budget = CPUBudget.available()
        logger.info("ONNX Runtime \(backend.version) from \(backend.libraryPath); CPU budget \(budget); \(backend.intraOpThreads) intra-op threads shared by all models")

        let manager = ModelManager(
            repository: common.repository, backends: backends,
            options: ModelManagerOptions(
                cpuBudget: budget,
                completion: ModelConfigCompletion(defaultMaxBatchSize: common.defaultMaxBatchSize),
                makePreprocessor: CommonOptions.makePreprocessor, memoryBudget: try memoryBudgetBytes(), limits: limits.models),
            logger: logger)
        let server = InferenceServer(
            manager: manager, info: ServerInfo(extensions: KServeRoutes.extensions),
            controlMode: modelControlMode, startupModels: loadModel, strictReadiness: triton.strictReadiness)

        // Services stop in reverse order: frontends first (requests in flight finish), models last.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: ModelUnloaderService(server: server)),
            .init(service: IdleMemoryReleaseService(logger: logger)),
        ]
        if let serverTLS { services.append(.init(service: await TLSReloadService(tls: serverTLS, logger: logger))) }
        if metricsPort != 0 {
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = try histogramBuckets()
            MetricsSystem.bootstrap(factory)
            services.append(try httpService("Prometheus metrics", router: MetricsRoutes(registry: registry, server: server).makeRouter(), port: metricsPort, tls: serverTLS, logger: logger))
        }
        if httpListenPort != 0 {
            let routes = KServeRoutes(server: server, options: limits.httpFrontend(maxRequestSize: maxRequestSize), servesV1: allowKServeV1)
            // A restricted category leaves its requests to the route, which checks the key.
            let fastPath = routes.fastPath(restrictions: restrictions.http, serverName: Self.serverName, logger: logger)
            services.append(try httpService("KServe v2 HTTP", router: routes.makeRouter(restrictions: restrictions.http), port: httpListenPort, fastPath: fastPath, tls: serverTLS, logger: logger))
        }
        if torchservePort != 0 {
            let routes = TorchServeInferenceRoutes(server: server, options: limits.httpFrontend(maxRequestSize: maxRequestSize))
            services.append(try httpService("TorchServe inference API", router: routes.makeRouter(restrictions: restrictions.http), port: torchservePort, errorFormat: .torchServe, tls: serverTLS, logger: logger))
        }
        if torchserveManagementPort != 0 {
            services.append(try httpService("TorchServe management API", router: TorchServeManagementRoutes(server: server).makeRouter(restrictions: restrictions.http), port: torchserveManagementPort, address: access.torchserveManagementAddress, errorFormat: .torchServe, tls: serverTLS, logger: logger))
        }
        if tfservingPort != 0 {
            let routes = TFServingRoutes(server: server, options: limits.httpFrontend(maxRequestSize: maxRequestSize))
            services.append(try httpService("TensorFlow Serving REST", router: routes.makeRouter(restrictions: restrictions.http), port: tfservingPort, tls: serverTLS, logger: logger))
        }
        if grpcListenPort != 0 {
            var options = limits.grpcFrontend(address: grpcAddress, port: grpcListenPort, maxMessageSize: grpcMaxMessageSize)
            options.tls = serverTLS
            options.restrictions = restrictions.grpc
            services.append(.init(service: GRPCFrontend(server: server, options: options, logger: logger)))
        }

        services.append(.init(service: ModelLoaderService(
            server: server, pollInterval: modelControlMode == .poll ? repositoryPollSecs : nil,
            exitTimeout: .milliseconds(Int64(exitTimeoutSecs * 1000)), logger: logger)))
        let group = ServiceGroup(
            configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

extension ServeCommand {
    /// The `Server` field of every HTTP answer.
    static let serverName = "swerve"

    /// A Hummingbird application serving `router` on `address` (default: the HTTP address) and
    /// `port`, over TLS when `tls` is given.
    func httpService(
        _ name: String, router: Router<SwerveRequestContext>, port: Int, address: String? = nil, errorFormat: HTTPErrorFormat = .kserve,
        fastPath: KServeFastPathConfiguration? = nil, tls: ServerTLS? = nil, logger: Logger
    ) throws -> ServiceGroupConfiguration.ServiceConfiguration {
        .init(service: Application(
            router: router,
            server: try .swerveTLS(.swerveHTTP1(maxRequestSize: maxRequestSize, errorFormat: errorFormat, fastPath: fastPath, limits: limits.httpConnections), tls: tls),
            configuration: .init(address: .hostname(address ?? httpAddress, port: port), serverName: Self.serverName),
            onServerRunning: { logger.info("\(name) listening on \($0.localAddress.map { "\($0)" } ?? "")") },
            logger: logger))
    }

    /// `--model-memory-budget` in bytes, or nil when not given.
    func memoryBudgetBytes() throws -> Int? {
        guard let text = modelMemoryBudget else { return nil }
        guard let size = ByteCount(parsing: text), size.bytes > 0 else {
            throw ValidationError("--model-memory-budget must be a positive size in bytes or with K, M, G or T (e.g. 512M, 2G), not '\(text)'")
        }
        return size.bytes
    }

    func histogramBuckets() throws -> [Duration] {
        let values = metricsHistogramBuckets.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? -1) > 0 }) else {
            throw ValidationError("--metrics-histogram-buckets must be positive numbers of seconds separated by commas")
        }
        return values.compactMap { $0 }.sorted().map { Duration.nanoseconds(Int64($0 * 1e9)) }
    }
}

extension ModelControlMode: ExpressibleByArgument {}

/// Loads the models when the server starts, and in poll mode rescans the repository. It is the
/// last service of the group, so it is the first told to stop: a shutdown during loading stops
/// loading further models at once.
struct ModelLoaderService: Service {
    let server: InferenceServer
    /// Seconds between repository scans, in poll mode.
    let pollInterval: Double?
    /// How long a shutdown waits for queued requests before failing them.
    let exitTimeout: Duration
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await server.start() }
            let statuses = server.modelStatuses()
            let failed = statuses.filter { $0.state != .ready }
            if !Task.isShuttingDownGracefully {
                logger.info("ready: \(statuses.count - failed.count) model versions loaded, \(failed.count) not loaded")
            }
        } catch {
            logger.error("cannot read the model repository: \(error)")
            throw error
        }
        if let pollInterval {
            while !Task.isShuttingDownGracefully {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(pollInterval)) }
                if Task.isShuttingDownGracefully { break }
                await server.poll()
            }
        } else {
            try? await gracefulShutdown()
        }
        startExitTimer()
    }

    /// This service is the first told to stop; the frontends then wait for their requests, queued
    /// ones included. After `exitTimeout` the queued ones are failed, so a stop under overload
    /// takes about that long plus the executions under way, not the whole queue's work.
    private func startExitTimer() {
        let (server, timeout, logger) = (server, exitTimeout, logger)
        Task.detached {
            try? await Task.sleep(for: timeout)
            logger.warning("still stopping after \(timeout): failing the queued requests with 503 / UNAVAILABLE")
            server.abandonQueuedRequests()
        }
    }
}

/// Gives freed memory back to the system when requests stop (``IdleMemoryRelease``), until the
/// server stops.
struct IdleMemoryReleaseService: Service {
    let logger: Logger

    func run() async throws {
        let logger = logger
        await cancelWhenGracefulShutdown {
            await IdleMemoryRelease.shared.run {
                Malloc.releaseFreedMemory()
                logger.debug("requests stopped: freed memory returned to the system")
            }
        }
    }
}

/// Unloads the models when the server stops, after every frontend has finished its requests in
/// flight: it is the first service of the group, so it is told to stop last.
struct ModelUnloaderService: Service {
    let server: InferenceServer

    func run() async throws {
        try? await gracefulShutdown()
        await server.shutdown()
    }
}
