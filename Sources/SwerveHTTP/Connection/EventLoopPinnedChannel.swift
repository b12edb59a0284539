import HummingbirdCore
import Logging
import NIOCore

/// A server child channel that handles each connection with its event loop as the task executor
/// preference (``EventLoopTaskExecutor``): the connection's requests are read, answered and
/// written on the loop that does its I/O, and so are the child tasks and actors it reaches.
///
/// Handlers that would hold the loop long opt out with ``HandlerPlacement``: a large, chunked or
/// compressed body, and the routes that do file-system or model-management work, run on Swift's
/// global executor, so the loop keeps answering its other connections (`/v2/health/live` among
/// them). Inference itself stays off the loop unless the model runs inline (its recent executions
/// took under `InstancePool.defaultInlineLimit`); other models run on their instance threads.
struct EventLoopPinnedChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor.of(value.channel.eventLoop)) {
            await base.handle(value: value, logger: logger)
        }
    }
}
