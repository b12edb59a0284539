/// The limits the gRPC listener puts on its connections, in grpc-swift's HTTP/2 transport terms
/// (`HTTP2ServerTransport.Config.Connection`), under Triton's flag names where Triton has them.
/// The defaults are gRPC's own, but for ``maxConnectionIdle``.
public struct GRPCConnectionLimits: Sendable, Equatable {
    /// Time without reads before the server pings the client (`--grpc-keepalive-time`).
    public var keepaliveTime: Duration
    /// Time the server waits for a ping's answer before it closes the connection
    /// (`--grpc-keepalive-timeout`).
    public var keepaliveTimeout: Duration
    /// Whether clients may ping with no call open (`--grpc-keepalive-permit-without-calls`).
    public var keepalivePermitWithoutCalls: Bool
    /// The least time between a client's pings when no data flows; more frequent pings are
    /// strikes, and too many close the connection (`--grpc-http2-min-recv-ping-interval-without-data`).
    public var minReceivedPingIntervalWithoutData: Duration
    /// Age after which a connection is sent GOAWAY; nil for none (`--grpc-max-connection-age`).
    public var maxConnectionAge: Duration?
    /// Time the calls of a connection past its age may take before it is closed; nil for none
    /// (`--grpc-max-connection-age-grace`).
    public var maxConnectionAgeGrace: Duration?
    /// Time a connection may have no call open before it is sent GOAWAY; nil for none
    /// (`--grpc-max-connection-idle`).
    public var maxConnectionIdle: Duration?
    /// Connections the listener holds open at once; past it a new one is closed at once; 0 for
    /// no limit (`--grpc-max-connections`, ``GRPCConnectionCount``).
    public var maxConnections: Int

    /// Creates limits; the defaults are the flags' defaults.
    public init(
        keepaliveTime: Duration = .seconds(7200), keepaliveTimeout: Duration = .seconds(20), keepalivePermitWithoutCalls: Bool = false,
        minReceivedPingIntervalWithoutData: Duration = .seconds(300), maxConnectionAge: Duration? = nil,
        maxConnectionAgeGrace: Duration? = nil, maxConnectionIdle: Duration? = .seconds(3600), maxConnections: Int = 4096
    ) {
        self.maxConnections = maxConnections
        self.keepaliveTime = keepaliveTime
        self.keepaliveTimeout = keepaliveTimeout
        self.keepalivePermitWithoutCalls = keepalivePermitWithoutCalls
        self.minReceivedPingIntervalWithoutData = minReceivedPingIntervalWithoutData
        self.maxConnectionAge = maxConnectionAge
        self.maxConnectionAgeGrace = maxConnectionAgeGrace
        self.maxConnectionIdle = maxConnectionIdle
    }
}
