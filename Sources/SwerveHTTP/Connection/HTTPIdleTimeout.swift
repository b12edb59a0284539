import NIOCore
import NIOHTTPTypes

/// Closes a connection that has had no request in progress for
/// ``HTTPConnectionLimits/idleTimeout`` (keep-alive), or whose request's body has stopped coming
/// for that long. A request whose answer is being computed is never timed out.
///
/// Hummingbird's own `idleTimeout` (`HTTPConnectionStateHandler`) sits after Swerve's handlers in
/// the pipeline, so it never sees the liveness probes ``KServeFastPath`` answers on the event
/// loop: a client polling `/v2/health/live` on one keep-alive connection looked idle to it and
/// was cut off. This handler sits before them and sees every request and every answer.
final class HTTPIdleTimeout: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    /// Request heads read whose answers have not ended.
    private var inProgress = 0
    /// A request's head has come and its end has not.
    private var reading = false
    /// The last request part read, answer ended, or the connection's start (the event loop's
    /// clock, which tests move by hand).
    private var lastActivity = NIODeadline.uptimeNanoseconds(0)
    private var scheduled: Scheduled<Void>?

    /// - Parameter timeout: how long a connection may stay idle.
    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastActivity = context.eventLoop.now
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        lastActivity = context.eventLoop.now
        arm(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        scheduled?.cancel()
        scheduled = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        scheduled?.cancel()
        scheduled = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = context.eventLoop.now
        switch unwrapInboundIn(data) {
        case .head:
            inProgress += 1
            reading = true
            arm(context)
        case .body:
            break
        case .end:
            reading = false
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inProgress = max(0, inProgress - 1)
            if inProgress == 0 {
                lastActivity = context.eventLoop.now
                arm(context)
            }
        }
        context.write(data, promise: promise)
    }

    /// Schedules a check at the end of the idle time, unless one is scheduled.
    private func arm(_ context: ChannelHandlerContext) {
        guard scheduled == nil else { return }
        scheduled = context.eventLoop.assumeIsolated().scheduleTask(deadline: lastActivity + timeout) { [self] in
            scheduled = nil
            check(context)
        }
    }

    /// Closes the connection if it has been idle for the whole timeout; otherwise checks again
    /// when it could be. An answer being computed stops the checks until it ends.
    private func check(_ context: ChannelHandlerContext) {
        if inProgress > 0 && !reading { return }
        if context.eventLoop.now >= lastActivity + timeout {
            context.close(promise: nil)
        } else {
            arm(context)
        }
    }
}
