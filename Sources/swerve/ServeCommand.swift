import ArgumentParser
import Hummingbird
import Logging
import ServiceLifecycle
import SwerveCore
import SwerveHTTP
import SwerveONNXRuntime

/// `swerve serve`: loads the repository's models and serves them until SIGINT or SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the models of a repository over KServe v2 HTTP.",
        discussion: "Stops cleanly on SIGINT or SIGTERM: new connections are refused, requests in flight finish."
    )

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: ArgumentHelp("Port of the KServe v2 HTTP endpoint.", valueName: "port"))
    var httpPort: Int = 8000

    @Option(name: .long, help: ArgumentHelp("Address the HTTP endpoint listens on.", valueName: "address"))
    var httpAddress: String = "0.0.0.0"

    @Option(name: .long, help: ArgumentHelp("ONNX Runtime intra-op threads per model instance (default: the CPUs this process may use, divided among a model's instances).", valueName: "n"))
    var intraOpThreads: Int?

    @Option(name: .long, help: ArgumentHelp("Largest request body in bytes; larger bodies get 413.", valueName: "bytes"))
    var maxRequestSize: Int = 64 << 20

    func validate() throws {
        guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port must be between 0 and 65535") }
        if let threads = intraOpThreads, threads < 1 { throw ValidationError("--intra-op-threads must be at least 1") }
        guard maxRequestSize > 0 else { throw ValidationError("--max-request-size must be positive") }
    }

    func run() async throws {
        common.bootstrapLogging()
        let logger = Logger(label: "swerve")
        let backend = try common.makeBackend()
        let budget = CPUBudget.available()
        logger.info("ONNX Runtime \(backend.version) from \(backend.libraryPath); CPU budget \(budget)")

        let manager = ModelManager(
            repository: ModelRepository(root: common.modelRepository), backend: backend,
            options: ModelManagerOptions(
                intraOpThreads: intraOpThreads, cpuBudget: budget,
                completion: ModelConfigCompletion(defaultMaxBatchSize: common.defaultMaxBatchSize)),
            logger: logger)
        let server = InferenceServer(manager: manager, info: ServerInfo(extensions: KServeRoutes.extensions))
        let routes = KServeRoutes(server: server, options: HTTPFrontendOptions(maxRequestSize: maxRequestSize))
        let app = Application(
            router: routes.makeRouter(),
            configuration: .init(address: .hostname(httpAddress, port: httpPort), serverName: "swerve"),
            onServerRunning: { channel in
                logger.info("KServe v2 HTTP listening on \(channel.localAddress.map { "\($0)" } ?? "\(httpAddress):\(httpPort)")")
            },
            logger: logger)

        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: ModelService(server: server, logger: logger)), .init(service: app)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}

/// Loads the models when the server starts and unloads them (after in-flight requests finish)
/// when it stops.
struct ModelService: Service {
    let server: InferenceServer
    let logger: Logger

    func run() async throws {
        do {
            try await server.start()
            let statuses = server.manager.statuses()
            let failed = statuses.filter { $0.state != .ready }
            logger.info("ready: \(statuses.count - failed.count) model versions loaded, \(failed.count) not loaded")
        } catch {
            logger.error("cannot read the model repository: \(error)")
            throw error
        }
        try? await gracefulShutdown()
        await server.manager.shutdown()
    }
}
