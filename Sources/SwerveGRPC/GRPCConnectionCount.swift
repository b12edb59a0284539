import Logging
import NIOCore
import Synchronization

/// Holds the gRPC listener's open connections to ``maxConnections`` (`--grpc-max-connections`).
///
/// It is the transport's accept hook (`onAcceptTCPConnection`, called once each connection's
/// pipeline is set up, TLS included): a connection within the limit is counted until it closes; one
/// past it is closed at once, before any call is read, and never counted, so a flood of
/// connections cannot pile up. The client sees the connection closed (gRPC's UNAVAILABLE), the
/// answer a full server gives; the log says why at debug level. grpc-swift's transport offers no
/// earlier hook, so an HTTP/2 GOAWAY naming the limit cannot be sent first.
final class GRPCConnectionCount: Sendable {
    /// The most connections held open; 0 for no limit.
    let maxConnections: Int
    private let open = Atomic<Int>(0)

    /// A counter for a listener that holds at most `maxConnections` (0: any number).
    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    /// The connections counted now.
    var openCount: Int { open.load(ordering: .relaxed) }

    /// Counts `channel` until it closes, or closes it when the listener holds its maximum.
    func accept(_ channel: any Channel) -> EventLoopFuture<Void> {
        if maxConnections > 0, open.wrappingAdd(1, ordering: .relaxed).newValue > maxConnections {
            open.wrappingSubtract(1, ordering: .relaxed)
            Logger(label: "swerve").debug(
                "closing a gRPC connection past the limit of \(maxConnections) (--grpc-max-connections)",
                metadata: ["remote": "\(channel.remoteAddress.map { "\($0)" } ?? "")"])
            channel.close(promise: nil)
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        if maxConnections > 0 {
            channel.closeFuture.whenComplete { [self] _ in open.wrappingSubtract(1, ordering: .relaxed) }
        }
        return channel.eventLoop.makeSucceededVoidFuture()
    }
}
