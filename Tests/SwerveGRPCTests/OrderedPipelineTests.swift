import Synchronization
import Testing

@testable import SwerveGRPC

/// The concurrent, order-keeping runner behind ModelStreamInfer.
struct OrderedPipelineTests {
    /// Collects what the pipeline writes.
    final class Written: Sendable {
        let values = Mutex<[Int]>([])
        func append(_ value: Int) { values.withLock { $0.append(value) } }
        var all: [Int] { values.withLock { $0 } }
    }

    /// Responses come out in request order even when later requests finish first.
    @Test func responsesKeepRequestOrder() async throws {
        let pipeline = OrderedPipeline<Int, Int>(window: 8) { value in
            try? await Task.sleep(for: .milliseconds((8 - value % 8) * 2))
            return value * 10
        }
        let written = Written()
        try await pipeline.run((0..<40).async, stop: { try await Task.sleep(for: .seconds(3600)); return true }) { written.append($0) }
        #expect(written.all == (0..<40).map { $0 * 10 })
    }

    /// The window is used fully and never exceeded: three requests are in flight at once, never
    /// four. Each request waits (up to a deadline) until three have been in flight together, so a
    /// pipeline that ran them one by one fails rather than passing. The deadline is long because
    /// only a broken pipeline reaches it: on a loaded machine the three tasks may start late.
    @Test func windowBoundsTheRequestsInFlight() async throws {
        let inFlight = Mutex<(now: Int, peak: Int)>((0, 0))
        let deadline = ContinuousClock.now + .seconds(120)
        let pipeline = OrderedPipeline<Int, Int>(window: 3) { value in
            inFlight.withLock { $0.now += 1; $0.peak = max($0.peak, $0.now) }
            defer { inFlight.withLock { $0.now -= 1 } }
            while inFlight.withLock({ $0.peak }) < 3 {
                guard ContinuousClock.now < deadline else { return -1 }  // the window was never filled
                do { try await Task.sleep(for: .milliseconds(1)) } catch { return -2 }
            }
            return value
        }
        let written = Written()
        try await pipeline.run((0..<30).async, stop: { try await Task.sleep(for: .seconds(3600)); return true }) { written.append($0) }
        #expect(written.all == Array(0..<30))
        #expect(inFlight.withLock { $0.peak } == 3)
    }

    /// When told to stop without abandoning, reading ends and the requests in flight still answer.
    @Test func drainingStopAnswersRequestsInFlight() async throws {
        let (requests, continuation) = AsyncStream.makeStream(of: Int.self)
        let started = Mutex(0)
        let pipeline = OrderedPipeline<Int, Int>(window: 4) { value in
            started.withLock { $0 += 1 }
            do {
                try await Task.sleep(for: .milliseconds(20))
                return value
            } catch {
                return -value  // cancelled: a draining stop must not do that
            }
        }
        continuation.yield(1)
        continuation.yield(2)
        let written = Written()
        try await pipeline.run(requests, stop: {
            while started.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(1)) }
            return false
        }) { written.append($0) }
        #expect(written.all == [1, 2])
        continuation.finish()
    }

    /// When told to abandon, the requests in flight are cancelled.
    @Test func abandoningStopCancelsRequestsInFlight() async throws {
        let (requests, continuation) = AsyncStream.makeStream(of: Int.self)
        let started = Mutex(0)
        let pipeline = OrderedPipeline<Int, Int>(window: 4) { value in
            started.withLock { $0 += 1 }
            do {
                try await Task.sleep(for: .seconds(3600))
                return value
            } catch {
                return -value
            }
        }
        continuation.yield(1)
        let written = Written()
        try await pipeline.run(requests, stop: {
            while started.withLock({ $0 }) < 1 { try await Task.sleep(for: .milliseconds(1)) }
            return true
        }) { written.append($0) }
        #expect(written.all == [-1])
        continuation.finish()
    }
}

extension Range where Bound == Int {
    /// The numbers as an asynchronous sequence.
    var async: AsyncStream<Int> {
        AsyncStream { continuation in
            for value in self { continuation.yield(value) }
            continuation.finish()
        }
    }
}
