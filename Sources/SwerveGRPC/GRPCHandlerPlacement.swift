import GRPCCore
import SwerveCore

/// Where an RPC's handler runs: on the event loop that read it (the gRPC server's task executor
/// preference, ``EventLoopGroupTaskExecutor``) or on Swift's global executor, as SwerveCore's
/// `RequestPlacement` says, the same as over HTTP.
///
/// The calls of categories whose work is not short (statistics, the repository, shared memory,
/// trace and log settings) run on the global executor (``GRPCPlacementInterceptor``): their work
/// grows with the models served, and a load waits on the file system. An inference request whose
/// tensors hold more than `RequestPlacement.maxInlineBytes` bytes moves to the global executor before
/// it is translated (``placing(_:_:)``): copying and preprocessing grow with it (an image sent as
/// BYTES is decoded and resized before the model runs), and the loop has other streams to read.
enum GRPCHandlerPlacement {
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
            if bytes > RequestPlacement.maxInlineBytes { return false }
        }
        return RequestPlacement.staysWhereRead(.inference, bytes: bytes)
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

/// Runs each call whose category's work is not short (`RequestPlacement.isShortWork`) on Swift's
/// global executor; the others run where the server started them, on the loop that read them.
struct GRPCPlacementInterceptor: ServerInterceptor {
    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if RequestPlacement.isShortWork(GRPCMethodCategories.byMethod[context.descriptor]) {
            return try await next(request, context)
        }
        return try await GRPCHandlerPlacement.offEventLoop { try await next(request, context) }
    }
}
