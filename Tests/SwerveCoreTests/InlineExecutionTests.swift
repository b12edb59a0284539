import Foundation
@testable import SwerveCore
import SwerveTesting
import Testing

/// A fast model's request runs on its caller's thread (``InstancePool``'s inline path) without
/// changing what the pool promises: statistics, the batching delay. (No test here holds a request
/// inline: that blocks a thread of Swift's cooperative pool, and with the one in
/// PoolRetirementTests running beside it, the 2-core CI's pool starved.)
struct InlineExecutionTests {
    let executor = ExecutionThreads(limit: 4, name: "swerve-tinline")

    /// Runs `requests` one after the other, each inside a task marked as the caller, and returns
    /// whether each ran on its caller's thread.
    private func callerMarks(_ pool: InstancePool, model marks: CallerMarks, requests: Int) async throws -> [Bool] {
        try await CallerMarks.$inCaller.withValue(true) {
            for _ in 0..<requests { try await PoolFixtures.infer(pool) }
        }
        return marks.take()
    }

    private func markingModel(_ marks: CallerMarks, around model: FakeBackend.FakeModel? = nil) -> FakeBackend.FakeModel {
        let inner = model ?? FakeBackend.FakeModel.identity()
        return FakeBackend.FakeModel(signature: inner.signature) { inputs, outputs in
            marks.record(CallerMarks.inCaller)
            return try inner.run(inputs, outputs)
        }
    }

    /// Requests that ran inline count in the statistics like those an executor thread ran: one
    /// execution of one row each, nothing left queued. (The request and queue counters are
    /// InferencePipeline's, above the pool.)
    @Test func inlineRunsKeepTheStatistics() async throws {
        let marks = CallerMarks()
        // A limit no run on a loaded machine reaches, so that the model counts as fast however long
        // this machine's runs take. Not every request runs inline even so: the first has no history,
        // and a request that comes before an executor thread has given the instance back waits in
        // the queue (3 of 40 on this 2-core machine under load); most must.
        let pool = PoolFixtures.pool([TrackedInstance(markingModel(marks))], executor: executor, inlineLimit: .seconds(60))
        let ran = try await callerMarks(pool, model: marks, requests: 40)
        #expect(ran.count == 40)
        #expect(ran.filter { $0 }.count >= 20, "the fast model rarely ran on its caller's thread: \(ran)")
        let statistics = pool.statistics.snapshot
        #expect(statistics.executionCount == 40)
        #expect(statistics.inferenceCount == 40)
        #expect(statistics.batches.map(\.batchSize) == [1])
        #expect(statistics.batches.first?.computeInfer.count == 40)
        #expect(pool.queuedCount == 0)
        #expect(pool.isIdle)
    }

    /// A model that waits for batches to fill never runs a lone request inline, however fast it
    /// is: the request waits out the batching delay in the queue, where others can join it.
    @Test func aBatchingDelayIsNeverSkipped() async throws {
        let marks = CallerMarks()
        let pool = PoolFixtures.pool(
            [TrackedInstance(markingModel(marks))], policy: PoolFixtures.batching(delay: .microseconds(200)), executor: executor)
        let ran = try await callerMarks(pool, model: marks, requests: 20)
        #expect(ran.count == 20)
        #expect(!ran.contains(true), "a request skipped the batching delay and ran on its caller's thread")
    }
}
