import NIOCore

/// The limits every HTTP listener puts on its connections (flags `--http-...`, see
/// ``HTTPServerBuilder/swerveHTTP1(maxRequestSize:errorFormat:fastPath:limits:)``).
public struct HTTPConnectionLimits: Sendable, Equatable {
    /// The most time from a request's first byte to the end of its headers; a slower client is
    /// disconnected (slowloris). Flag `--http-header-read-timeout`.
    public var headerReadTimeout: TimeAmount
    /// The most time a connection may stay open with no request in progress (keep-alive); a
    /// request that is being answered never counts. Flag `--http-idle-timeout`.
    public var idleTimeout: TimeAmount
    /// The most connections a listener holds open; a connection past it gets 503 and is closed.
    /// Flag `--http-max-connections`.
    public var maxConnections: Int
    /// The most bytes of a request's headers (all fields together, and any one field); larger
    /// headers get 431. Flag `--http-max-header-size`.
    public var maxHeaderSize: Int
    /// The most header fields a request may have; more get 431. Flag `--http-max-header-count`.
    public var maxHeaderCount: Int

    /// Creates limits; the defaults are the flags' defaults.
    public init(
        headerReadTimeout: TimeAmount = .seconds(30), idleTimeout: TimeAmount = .seconds(75), maxConnections: Int = 4096,
        maxHeaderSize: Int = 80 * 1024, maxHeaderCount: Int = 100
    ) {
        self.headerReadTimeout = headerReadTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.maxHeaderSize = maxHeaderSize
        self.maxHeaderCount = maxHeaderCount
    }
}
