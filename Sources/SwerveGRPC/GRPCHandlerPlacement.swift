/// Where an RPC's handler runs: on the event loop that read it (the gRPC server's task executor
/// preference, ``EventLoopGroupTaskExecutor``) or on Swift's global executor.
///
/// Statistics and the repository RPCs always run on the global executor (``offEventLoop(_:)``):
/// their work grows with the models served, and a load waits on the file system.
///
/// A request whose tensors hold more than ``largeRequest`` bytes moves to the global executor
/// before it is translated: copying and preprocessing grow with it (an image sent as BYTES is
/// decoded and resized before the model runs), and the loop has other streams to read.
enum GRPCHandlerPlacement {
    /// The most tensor bytes a request handled on the event loop holds, as over HTTP.
    static let largeRequest = 16 * 1024

    /// Whether `message` may be handled on the event loop.
    static func staysOnEventLoop(_ message: Inference_ModelInferRequest) -> Bool {
        var bytes = 0
        for raw in message.rawInputContents { bytes += raw.count }
        for input in message.inputs where input.hasContents {
            let contents = input.contents
            for element in contents.bytesContents { bytes += element.count }
            bytes += 4 * (contents.fp32Contents.count + contents.intContents.count + contents.uintContents.count
                + contents.boolContents.count) + 8 * (contents.fp64Contents.count + contents.int64Contents.count
                + contents.uint64Contents.count)
            if bytes > largeRequest { return false }
        }
        return bytes <= largeRequest
    }

    /// Runs `body` where ``staysOnEventLoop(_:)`` says a handler for `message` runs.
    static func placing<T: Sendable>(_ message: Inference_ModelInferRequest, _ body: () async throws -> T) async throws -> T {
        if staysOnEventLoop(message) { return try await body() }
        return try await offEventLoop(body)
    }

    /// Runs `body` on the global executor, whatever the caller's preference.
    static func offEventLoop<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await withTaskExecutorPreference(globalConcurrentExecutor) { try await body() }
    }
}
