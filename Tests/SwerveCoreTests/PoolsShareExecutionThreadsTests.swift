import Foundation
@testable import SwerveCore
import SwerveTesting
import Testing

/// Pools run their batches on a shared, bounded ``ExecutionThreads``: a batching delay holds no
/// thread, a slow or busy pool leaves the other threads to the rest, and pools take turns.
struct PoolsShareExecutionThreadsTests {
    /// A request waiting out its batching delay holds no thread: on an executor of one thread,
    /// another pool's request runs meanwhile; the waiting one runs when the clock passes the
    /// delay.
    @Test func batchingDelayHoldsNoThreadAndTheBatchRunsWhenItEnds() async throws {
        let executor = ExecutionThreads(limit: 1, name: "swerve-tdelay")
        let clock = ManualSchedulingClock()
        let runs = Recorded<String>()
        let batching = PoolFixtures.pool(
            [TrackedInstance(PoolFixtures.recording("batching", in: runs))], name: "batching",
            policy: PoolFixtures.batching(delay: .seconds(1)), clock: clock, executor: executor)
        let other = PoolFixtures.pool([TrackedInstance(PoolFixtures.recording("other", in: runs))], name: "other", executor: executor)

        let waiting = Task { try await PoolFixtures.infer(batching) }
        try await waitUntil("the request is queued") { batching.queuedCount == 1 }
        try await PoolFixtures.infer(other)
        #expect(runs.all == ["other"])
        clock.advance(by: .milliseconds(999))
        #expect(batching.queuedCount == 1)
        clock.advance(by: .milliseconds(2))
        #expect(try await waiting.value.shape == [1, 4])
        #expect(runs.all == ["other", "batching"])
        #expect(executor.threadCount == 1)
    }

    /// A pool shutting down runs a batch that waits for its delay without waiting any longer.
    @Test func shutdownRunsABatchWaitingForItsDelay() async throws {
        let executor = ExecutionThreads(limit: 1, name: "swerve-tdelay")
        let clock = ManualSchedulingClock()
        let pool = PoolFixtures.pool(
            [TrackedInstance(.identity())], policy: PoolFixtures.batching(delay: .seconds(1)), clock: clock, executor: executor)
        let waiting = Task { try await PoolFixtures.infer(pool) }
        try await waitUntil("the request is queued") { pool.queuedCount == 1 }
        await pool.shutdown()
        #expect(try await waiting.value.shape == [1, 4])
        #expect(pool.isDrained)
    }

    /// A slow pool holds only the thread its run uses: while its only instance is held and more
    /// of its requests queue, another pool's requests run on the executor's other thread.
    @Test func slowPoolLeavesTheOtherThreadsToOtherPools() async throws {
        let executor = ExecutionThreads(limit: 2, name: "swerve-tslow")
        let gate = GatedModel()
        defer { gate.open() }
        let slow = PoolFixtures.pool([TrackedInstance(gate.model)], name: "slow", executor: executor)
        let runs = Recorded<String>()
        let other = PoolFixtures.pool([TrackedInstance(PoolFixtures.recording("other", in: runs))], name: "other", executor: executor)

        gate.close()
        let held = (0..<4).map { _ in Task { try await PoolFixtures.infer(slow) } }
        try await waitUntil("one slow request runs and three queue") { gate.heldCount == 1 && slow.queuedCount == 3 }
        for _ in 0..<5 { try await PoolFixtures.infer(other) }
        #expect(runs.all.count == 5)
        #expect(gate.heldCount == 1 && slow.queuedCount == 3)
        gate.open()
        for request in held { _ = try await request.value }
    }

    /// Pools take turns on the threads: a pool with many requests queued runs one batch, then
    /// queues again behind a pool that waited meanwhile, even on an executor of one thread.
    @Test func busyPoolTakesTurnsWithAWaitingPool() async throws {
        let executor = ExecutionThreads(limit: 1, name: "swerve-tturns")
        let gate = GatedModel()
        defer { gate.open() }
        let runs = Recorded<String>()
        let busyModel = FakeBackend.FakeModel(signature: gate.model.signature) { inputs, outputs in
            runs.append("busy")
            return try gate.model.run(inputs, outputs)
        }
        let busy = PoolFixtures.pool([TrackedInstance(busyModel)], name: "busy", executor: executor)
        let other = PoolFixtures.pool([TrackedInstance(PoolFixtures.recording("other", in: runs))], name: "other", executor: executor)

        gate.close()
        let first = Task { try await PoolFixtures.infer(busy) }
        try await waitUntil("the only thread runs the busy pool's first request") { gate.heldCount == 1 }
        let queued = (0..<4).map { _ in Task { try await PoolFixtures.infer(busy) } }
        try await waitUntil("four more busy requests queue") { busy.queuedCount == 4 }
        let waiting = Task { try await PoolFixtures.infer(other) }
        try await waitUntil("the other pool waits for the thread") { executor.waitingCount == 1 }
        gate.open()
        _ = try await waiting.value
        _ = try await first.value
        for request in queued { _ = try await request.value }
        #expect(runs.all == ["busy", "other", "busy", "busy", "busy", "busy"])
    }
}
