import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOPosix
import ServiceLifecycle
import SwerveCore
import SwerveTLS

/// Settings of the gRPC frontend.
public struct GRPCFrontendOptions: Sendable {
    /// The address to listen on: an IP address (`0.0.0.0`, `127.0.0.1`, `::`) or a host name.
    public var address: String
    /// The port to listen on; 0 lets the system pick one.
    public var port: Int
    /// The largest request message accepted, in bytes; larger ones get `RESOURCE_EXHAUSTED`
    /// (beyond twice this size the transport resets the stream instead, see `MessageSizeLimit`).
    public var maxMessageSize: Int
    /// The most requests of one ModelStreamInfer stream in flight at once.
    public var streamWindow: Int
    /// The most calls one connection may have open at once, advertised to clients (which then
    /// wait for a free slot). Without it SwiftNIO enforces 100 without advertising it, and a
    /// client that opens a 101st call gets its whole connection closed.
    public var maxConcurrentStreams: Int
    /// TLS (and mutual TLS) for every connection; nil serves plaintext HTTP/2.
    public var tls: ServerTLS?
    /// Keepalive, connection age and idle limits (``GRPCConnectionLimits``).
    public var connections: GRPCConnectionLimits
    /// The categories `--grpc-restricted-protocol` restricts (``RestrictedProtocolInterceptor``).
    public var restrictions: RestrictedFeatures
    /// Whether small unary `ModelInfer` calls are answered in their stream's pipeline
    /// (``GRPCInferFastPath``); it never is while the `inference` category is restricted.
    public var inferFastPath: Bool

    /// Creates options.
    public init(
        address: String = "0.0.0.0", port: Int = 8001, maxMessageSize: Int = 64 << 20, streamWindow: Int = 32,
        maxConcurrentStreams: Int = 1024, tls: ServerTLS? = nil, connections: GRPCConnectionLimits = GRPCConnectionLimits(),
        restrictions: RestrictedFeatures = RestrictedFeatures(flag: .grpcRestrictedProtocol), inferFastPath: Bool = true
    ) {
        self.inferFastPath = inferFastPath
        self.connections = connections
        self.address = address
        self.port = port
        self.maxMessageSize = maxMessageSize
        self.streamWindow = streamWindow
        self.maxConcurrentStreams = maxConcurrentStreams
        self.tls = tls
        self.restrictions = restrictions
    }
}

/// The gRPC frontend: KServe v2's `inference.GRPCInferenceService` and `grpc.health.v1.Health`
/// over HTTP/2 (plaintext, or TLS when ``GRPCFrontendOptions/tls`` is set), as a service of the process's `ServiceGroup`.
///
/// On graceful shutdown it stops accepting calls, lets unary calls in flight finish, ends open
/// inference streams once their requests in flight are answered, and returns.
///
/// ```swift
/// let frontend = GRPCFrontend(server: server, options: GRPCFrontendOptions(port: 8001), logger: logger)
/// let group = ServiceGroup(services: [modelService, frontend], logger: logger)
/// ```
public struct GRPCFrontend: Service {
    let server: InferenceServer
    let options: GRPCFrontendOptions
    let logger: Logger

    /// Creates the frontend over a server.
    public init(server: InferenceServer, options: GRPCFrontendOptions, logger: Logger) {
        self.server = server
        self.options = options
        self.logger = logger
    }

    /// The gRPC services this frontend serves.
    static func services(server: InferenceServer, options: GRPCFrontendOptions, drain: DrainSignal) -> [any RegistrableRPCService] {
        [
            SizeLimitedKServeService(
                service: KServeGRPCService(server: server, streamWindow: options.streamWindow, drain: drain),
                limit: options.maxMessageSize),
            HealthService(server: server),
        ]
    }

    /// The interceptors of every call: the key check when some category is restricted, then the
    /// placement of calls whose work is not short off the event loops.
    static func interceptors(options: GRPCFrontendOptions) -> [any ServerInterceptor] {
        (options.restrictions.isEmpty ? [] : [RestrictedProtocolInterceptor(restrictions: options.restrictions)])
            + [GRPCPlacementInterceptor()]
    }

    /// A gRPC server over `transport` with this frontend's services and interceptors.
    static func makeServer<Transport: ServerTransport>(
        transport: Transport, server: InferenceServer, options: GRPCFrontendOptions, drain: DrainSignal
    ) -> GRPCServer<Transport> {
        GRPCServer(
            transport: transport, services: services(server: server, options: options, drain: drain),
            interceptors: interceptors(options: options))
    }

    /// The HTTP/2 transport with this frontend's settings, over `eventLoops`: message and
    /// connection limits, keepalive, and the handlers put first in each stream's pipeline
    /// (``GRPCTimeoutGuard``, and ``GRPCInferFastPath`` unless it is off or inference is restricted).
    static func makeTransport(
        server: InferenceServer, options: GRPCFrontendOptions, eventLoops: MultiThreadedEventLoopGroup,
        connectionCount: GRPCConnectionCount
    ) throws -> HTTP2ServerTransport.Posix {
        let fastPath = options.inferFastPath && !options.restrictions.restricts(.inference)
            ? GRPCInferFastPath.Configuration(
                server: server, maxMessageSize: options.maxMessageSize, executor: EventLoopGroupTaskExecutor.of(eventLoops))
            : nil
        return HTTP2ServerTransport.Posix(
            address: try Self.bindAddress(host: options.address, port: options.port),
            transportSecurity: try Self.transportSecurity(options.tls),
            config: .defaults {
                $0.rpc.maxRequestPayloadSize = MessageSizeLimit.transportLimit(for: options.maxMessageSize)
                $0.http2.maxConcurrentStreams = options.maxConcurrentStreams
                let limits = options.connections
                $0.connection.keepalive = .init(
                    time: limits.keepaliveTime, timeout: limits.keepaliveTimeout,
                    clientBehavior: .init(
                        minPingIntervalWithoutCalls: limits.minReceivedPingIntervalWithoutData,
                        allowWithoutCalls: limits.keepalivePermitWithoutCalls))
                $0.connection.maxAge = limits.maxConnectionAge
                $0.connection.maxGraceTime = limits.maxConnectionAgeGrace
                $0.connection.maxIdleTime = limits.maxConnectionIdle
                $0.channelDebuggingCallbacks.onAcceptTCPConnection = connectionCount.accept
                // Flush at once: coalescing delays every unary answer by up to 100 µs.
                $0.connection.flushCoalescing = nil
                // A negative grpc-timeout made grpc-swift stop the process; small ModelInfer calls
                // are answered before grpc-swift's per-call machinery.
                $0.channelDebuggingCallbacks.onAcceptHTTP2Stream = { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try GRPCTimeoutGuard.install(on: channel)
                        if let fastPath { try GRPCInferFastPath.install(on: channel, configuration: fastPath) }
                    }
                }
            },
            eventLoopGroup: eventLoops)
    }

    /// Serves until graceful shutdown.
    ///
    /// gRPC has event loops of its own, apart from the HTTP listeners': a client streaming a
    /// megabyte of HTTP/2 frames then never delays an HTTP liveness probe waiting on the same loop.
    public func run() async throws {
        let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: max(1, CPUBudget.available()))
        let connectionCount = GRPCConnectionCount(maxConnections: options.connections.maxConnections)
        defer { eventLoops.shutdownGracefully { _ in } }
        let transport = try Self.makeTransport(
            server: server, options: options, eventLoops: eventLoops, connectionCount: connectionCount)
        let drain = DrainSignal()
        let grpcServer = Self.makeServer(transport: transport, server: server, options: options, drain: drain)
        let logger = self.logger
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                // Handlers run on the loop that read their stream (EventLoopGroupTaskExecutor).
                group.addTask(executorPreference: EventLoopGroupTaskExecutor.of(eventLoops)) { try await grpcServer.serve() }
                let address = try await transport.listeningAddress
                logger.info("KServe v2 gRPC listening on \(address)")
            }
        } onGracefulShutdown: {
            drain.beginDraining()
            grpcServer.beginGracefulShutdown()
        }
    }
}
