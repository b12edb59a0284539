import ArgumentParser
import NIOCore
import SwerveCore
import SwerveGRPC
import SwerveHTTP

/// The limits on what clients may take: connections, time, header and body sizes, and each
/// model's requests in flight and rate. Every limit has a default that holds a greedy or slow
/// client without getting in an ordinary client's way (the README's "Limits" table).
struct LimitOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Seconds a client may take to send a request's headers, from its first byte; a slower one (slowloris) is disconnected.", valueName: "seconds"))
    var httpHeaderReadTimeout: Double = 30

    @Option(name: .long, help: ArgumentHelp("Seconds an HTTP connection may stay open with no request in progress (keep-alive) before it is closed; a request being answered never counts.", valueName: "seconds"))
    var httpIdleTimeout: Double = 75

    @Option(name: .long, help: ArgumentHelp("Connections each HTTP listener holds open at most; past it a new connection gets 503 with Connection: close and is closed.", valueName: "n"))
    var httpMaxConnections: Int = 4096

    @Option(name: .long, help: ArgumentHelp("Bytes of a request's header fields, together and each; larger headers get 431.", valueName: "bytes"))
    var httpMaxHeaderSize: Int = 80 * 1024

    @Option(name: .long, help: ArgumentHelp("Header fields of a request; more get 431.", valueName: "n"))
    var httpMaxHeaderCount: Int = 100

    @Option(name: .long, help: ArgumentHelp("Bytes a gzip or deflate request body may inflate to; larger get 413 (default: --max-request-size).", valueName: "bytes"))
    var maxDecompressedSize: Int?

    @Option(name: .long, help: ArgumentHelp("Parts of a TorchServe multipart/form-data request; more get 400.", valueName: "n"))
    var maxMultipartParts: Int = 1024

    @Option(name: .long, help: ArgumentHelp("BYTES (string) elements of one inference request, all inputs together; more get 400 / INVALID_ARGUMENT. 0: no limit.", valueName: "n"))
    var maxBytesElements: Int = 1 << 20

    @Option(name: .long, help: ArgumentHelp("Requests each model version holds at once, from acceptance to answer; more get 429 with Retry-After / RESOURCE_EXHAUSTED. A model's config.pbtxt may set its own with parameters { key: \"max_inflight_requests\" ... }. 0: no limit.", valueName: "n"))
    var modelMaxInflightRequests: Int = 2048

    @Option(name: .long, help: ArgumentHelp("Requests a second each model version admits on average (a token bucket); more get 429 with Retry-After / RESOURCE_EXHAUSTED. config.pbtxt: parameter \"max_requests_per_second\". 0: no limit.", valueName: "rate"))
    var modelMaxRequestsPerSecond: Double = 0

    @Option(name: .long, help: ArgumentHelp("Requests admitted at once past the rate (the bucket's size). config.pbtxt: parameter \"max_request_burst\". 0: one second's worth of the rate.", valueName: "n"))
    var modelMaxRequestBurst: Int = 0

    @Option(name: .long, help: ArgumentHelp("Triton's flag: milliseconds without reads before the gRPC server pings the client.", valueName: "ms"))
    var grpcKeepaliveTime: Int = 7_200_000

    @Option(name: .long, help: ArgumentHelp("Triton's flag: milliseconds the gRPC server waits for a ping's answer before it closes the connection.", valueName: "ms"))
    var grpcKeepaliveTimeout: Int = 20_000

    @Option(name: .long, help: ArgumentHelp("Triton's flag: whether gRPC clients may ping with no call open (true or false); pings they may not send count against them and too many close the connection.", valueName: "bool"))
    var grpcKeepalivePermitWithoutCalls: Bool = false

    @Option(name: .long, help: ArgumentHelp("Triton's flag: the least milliseconds between a gRPC client's pings with no data; more frequent pings count against it.", valueName: "ms"))
    var grpcHttp2MinRecvPingIntervalWithoutData: Int = 300_000

    @Option(name: .long, help: ArgumentHelp("Triton's flag: milliseconds after which a gRPC connection is asked to go away (GOAWAY; clients reconnect). 0: no limit.", valueName: "ms"))
    var grpcMaxConnectionAge: Int = 0

    @Option(name: .long, help: ArgumentHelp("Triton's flag: milliseconds the calls of a connection past its age may take to finish before it is closed. 0: no limit.", valueName: "ms"))
    var grpcMaxConnectionAgeGrace: Int = 0

    @Option(name: .long, help: ArgumentHelp("Milliseconds a gRPC connection may have no call open before it is asked to go away (gRPC's MAX_CONNECTION_IDLE). 0: no limit.", valueName: "ms"))
    var grpcMaxConnectionIdle: Int = 3_600_000

    @Option(name: .long, help: ArgumentHelp("Connections the gRPC listener holds open at once; past it a new connection is closed at once (clients see UNAVAILABLE). 0: no limit.", valueName: "n"))
    var grpcMaxConnections: Int = 4096

    @Option(name: .long, help: ArgumentHelp("Calls one gRPC connection may have open at once, advertised to clients (which wait for a free slot).", valueName: "n"))
    var grpcMaxConcurrentStreams: Int = 1024

    func validate() throws {
        for (flag, seconds) in [("--http-header-read-timeout", httpHeaderReadTimeout), ("--http-idle-timeout", httpIdleTimeout)] {
            guard seconds > 0, seconds <= 86_400 else { throw ValidationError("\(flag) must be more than 0 and at most 86400 seconds") }
        }
        for (flag, value) in [("--http-max-connections", httpMaxConnections), ("--http-max-header-size", httpMaxHeaderSize),
                              ("--http-max-header-count", httpMaxHeaderCount), ("--max-multipart-parts", maxMultipartParts),
                              ("--grpc-keepalive-time", grpcKeepaliveTime), ("--grpc-keepalive-timeout", grpcKeepaliveTimeout),
                              ("--grpc-max-concurrent-streams", grpcMaxConcurrentStreams)] {
            guard value > 0 else { throw ValidationError("\(flag) must be positive") }
        }
        for (flag, value) in [("--max-bytes-elements", maxBytesElements), ("--model-max-inflight-requests", modelMaxInflightRequests),
                              ("--model-max-request-burst", modelMaxRequestBurst),
                              ("--grpc-http2-min-recv-ping-interval-without-data", grpcHttp2MinRecvPingIntervalWithoutData),
                              ("--grpc-max-connection-age", grpcMaxConnectionAge), ("--grpc-max-connection-age-grace", grpcMaxConnectionAgeGrace),
                              ("--grpc-max-connection-idle", grpcMaxConnectionIdle), ("--grpc-max-connections", grpcMaxConnections)] {
            guard value >= 0 else { throw ValidationError("\(flag) must be 0 or more") }
        }
        if let size = maxDecompressedSize, size <= 0 { throw ValidationError("--max-decompressed-size must be positive") }
        guard modelMaxRequestsPerSecond == 0 || ModelLimits.rateRange.contains(modelMaxRequestsPerSecond) else {
            throw ValidationError("--model-max-requests-per-second must be 0 (no limit) or from 0.001 to 1e9")
        }
    }

    /// The limits of every HTTP listener's connections.
    var httpConnections: HTTPConnectionLimits {
        HTTPConnectionLimits(
            headerReadTimeout: .nanoseconds(Int64(httpHeaderReadTimeout * 1e9)), idleTimeout: .nanoseconds(Int64(httpIdleTimeout * 1e9)),
            maxConnections: httpMaxConnections, maxHeaderSize: httpMaxHeaderSize, maxHeaderCount: httpMaxHeaderCount)
    }

    /// The HTTP frontends' options with these limits.
    func httpFrontend(maxRequestSize: Int) -> HTTPFrontendOptions {
        HTTPFrontendOptions(maxRequestSize: maxRequestSize, maxDecompressedSize: maxDecompressedSize, maxMultipartParts: maxMultipartParts)
    }

    /// Every model version's limits, before its configuration's own.
    var models: ModelLimits {
        ModelLimits(
            maxInflightRequests: modelMaxInflightRequests, maxRequestsPerSecond: modelMaxRequestsPerSecond,
            maxRequestBurst: modelMaxRequestBurst, maxBytesElements: maxBytesElements)
    }

    /// The gRPC frontend's options with these limits.
    func grpcFrontend(address: String, port: Int, maxMessageSize: Int) -> GRPCFrontendOptions {
        GRPCFrontendOptions(
            address: address, port: port, maxMessageSize: maxMessageSize, maxConcurrentStreams: grpcMaxConcurrentStreams,
            connections: grpcConnections)
    }

    /// The gRPC connection limits.
    var grpcConnections: GRPCConnectionLimits {
        func milliseconds(_ value: Int) -> Duration? { value > 0 ? .milliseconds(value) : nil }
        return GRPCConnectionLimits(
            keepaliveTime: .milliseconds(grpcKeepaliveTime), keepaliveTimeout: .milliseconds(grpcKeepaliveTimeout),
            keepalivePermitWithoutCalls: grpcKeepalivePermitWithoutCalls,
            minReceivedPingIntervalWithoutData: .milliseconds(grpcHttp2MinRecvPingIntervalWithoutData),
            maxConnectionAge: milliseconds(grpcMaxConnectionAge), maxConnectionAgeGrace: milliseconds(grpcMaxConnectionAgeGrace),
            maxConnectionIdle: milliseconds(grpcMaxConnectionIdle), maxConnections: grpcMaxConnections)
    }
}
