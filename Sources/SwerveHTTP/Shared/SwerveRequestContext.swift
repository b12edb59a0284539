import Hummingbird
import NIOCore
import SwerveCore

/// The request context of Swerve's HTTP frontends: Hummingbird's basics plus the connection's
/// channel, so a request refused for an oversized body can have its connection closed instead of
/// left waiting for a body nobody will read.
public struct SwerveRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on.
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Runs an inference handler's `body` with a signal that fires if the client closes the
    /// connection before `body` returns; requests carrying it are dropped from the queue then.
    func untilDisconnect<T>(_ body: (CancellationSignal) async throws -> T) async throws -> T {
        try await DisconnectWatch.shared.run(on: channel, body)
    }

    /// Closes the connection shortly after the current response has gone out.
    func closeConnectionSoon() {
        Self.closeSoon(channel)
    }

    /// Closes `channel` shortly after the answer being written has gone out; the one place that
    /// says how soon, for the routes and for ``KServeInference``.
    static func closeSoon(_ channel: any Channel) {
        channel.eventLoop.scheduleTask(in: .milliseconds(500)) { channel.close(promise: nil) }
    }
}
