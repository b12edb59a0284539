import Synchronization

/// Runs the requests of one stream concurrently, at most `window` at a time, and writes their
/// responses in request order.
///
/// Concurrency lets the requests of a stream share a model's instances (and batches); the order
/// is what Triton's streaming clients rely on to match responses to requests. The window keeps a
/// fast client from filling a model's queue: the next request is read only once a slot is free.
struct OrderedPipeline<Request: Sendable, Response: Sendable>: Sendable {
    /// The most requests of the stream in flight at once.
    let window: Int
    /// Computes the response to one request; failures are responses too.
    let process: @Sendable (Request) async -> Response

    /// Creates a pipeline.
    init(window: Int, process: @escaping @Sendable (Request) async -> Response) {
        precondition(window > 0, "the window must hold at least one request")
        self.window = window
        self.process = process
    }

    /// Reads `requests` until they end or `stop` returns, and writes every response in order.
    ///
    /// - Parameters:
    ///   - requests: The stream's requests.
    ///   - stop: Returns when reading must stop early: `true` to abandon (cancel) the requests in
    ///     flight, `false` to let them finish and write their responses.
    ///   - write: Writes one response; an error ends the stream and cancels the work in flight.
    func run<Requests: AsyncSequence & Sendable>(
        _ requests: Requests,
        stop: @escaping @Sendable () async throws -> Bool,
        write: (Response) async throws -> Void
    ) async throws where Requests.Element == Request {
        let (pending, pendingContinuation) = AsyncStream.makeStream(of: Task<Response, Never>.self)
        let (slots, slotContinuation) = AsyncStream.makeStream(of: Void.self)
        for _ in 0..<window { slotContinuation.yield() }
        let inFlight = InFlightTasks<Response>()
        defer { inFlight.cancelAll() }  // only work abandoned by an early exit is left here

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { pendingContinuation.finish() }
                try await read(requests, slots: slots, stop: stop, inFlight: inFlight, into: pendingContinuation)
            }
            for await task in pending {
                let response = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
                try await write(response)
                inFlight.remove(task)
                slotContinuation.yield()
            }
            try await group.waitForAll()
        }
    }

    private func read<Requests: AsyncSequence & Sendable>(
        _ requests: Requests, slots: AsyncStream<Void>, stop: @escaping @Sendable () async throws -> Bool,
        inFlight: InFlightTasks<Response>, into pending: AsyncStream<Task<Response, Never>>.Continuation
    ) async throws where Requests.Element == Request {
        let process = self.process
        do {
            try await withThrowingTaskGroup(of: Bool.self) { readers in
                readers.addTask {
                    var freeSlots = slots.makeAsyncIterator()
                    for try await request in requests {
                        guard await freeSlots.next() != nil else { break }
                        let task = Task { await process(request) }
                        inFlight.insert(task)
                        pending.yield(task)
                    }
                    return false
                }
                readers.addTask { try await stop() }
                let abandon = try await readers.next() ?? false
                readers.cancelAll()
                if abandon { inFlight.cancelAll() }
            }
        } catch {
            inFlight.cancelAll()
            throw error
        }
    }
}

/// The tasks of a stream whose responses are not written yet, so they can be cancelled together.
final class InFlightTasks<Response: Sendable>: Sendable {
    private let tasks = Mutex<Set<Task<Response, Never>>>([])

    func insert(_ task: Task<Response, Never>) {
        _ = tasks.withLock { $0.insert(task) }
    }

    func remove(_ task: Task<Response, Never>) {
        _ = tasks.withLock { $0.remove(task) }
    }

    func cancelAll() {
        for task in tasks.withLock({ $0 }) { task.cancel() }
    }
}
