import Foundation
@testable import SwerveCore
import SwerveTesting
import Testing

/// How a pool retires: only when idle if asked by ``InstancePool/retireIfIdle()``, after its
/// work if shut down, and in both cases letting its instances go once drained.
struct PoolRetirementTests {
    let executor = ExecutionThreads(limit: 4, name: "swerve-tretire")

    /// A pool with a request running or queued refuses to retire and keeps serving; once idle it
    /// retires, releases its instance at once, and refuses later requests as unloading.
    @Test func retireIfIdleRetiresOnlyAnIdlePool() async throws {
        let gate = GatedModel()
        defer { gate.open() }
        let releases = RunCounter()
        let pool = PoolFixtures.pool([TrackedInstance(gate.model, releases: releases)], executor: executor)
        #expect(pool.isIdle)

        gate.close()
        let running = Task { try await PoolFixtures.infer(pool) }
        try await waitUntil("the request holds the only instance") { gate.heldCount == 1 }
        #expect(!pool.isIdle)
        #expect(!pool.retireIfIdle(), "retired with a request running")
        let queued = Task { try await PoolFixtures.infer(pool) }
        try await waitUntil("a second request is queued") { pool.queuedCount == 1 }
        #expect(!pool.retireIfIdle(), "retired with a request running and one queued")
        #expect(!pool.isRetiring)
        #expect(!pool.isDrained)

        gate.open()
        _ = try await running.value
        _ = try await queued.value
        try await waitUntil("the instance is given back") { pool.isIdle }
        #expect(releases.value == 0)
        #expect(pool.retireIfIdle())
        #expect(pool.isRetiring)
        #expect(pool.isDrained)
        #expect(releases.value == 1, "the instance outlived the pool's retirement")
        #expect(!pool.isIdle)
        #expect(!pool.retireIfIdle(), "a retired pool retired again")

        let refused = await #expect(throws: SwerveError.self) { try await PoolFixtures.infer(pool) }
        #expect(refused?.code == .unavailable)
        #expect(refused?.message.contains("is unloading") == true)
        #expect(gate.runCount == 2, "the refused request ran")
        await pool.shutdown()  // returns at once: already drained
    }

    /// Shutdown lets the running and the queued request finish, and returns once the instance
    /// is released, not before.
    @Test func shutdownReleasesTheInstancesOnceDrained() async throws {
        let gate = GatedModel()
        defer { gate.open() }
        let releases = RunCounter()
        let pool = PoolFixtures.pool([TrackedInstance(gate.model, releases: releases)], executor: executor)
        gate.close()
        let running = Task { try await PoolFixtures.infer(pool, value: 1) }
        try await waitUntil("the request holds the only instance") { gate.heldCount == 1 }
        let queued = Task { try await PoolFixtures.infer(pool, value: 2) }
        try await waitUntil("a second request is queued") { pool.queuedCount == 1 }

        let shutdown = Task { await pool.shutdown() }
        try await waitUntil("the pool retires") { pool.isRetiring }
        #expect(!pool.isDrained)
        #expect(releases.value == 0)
        gate.open()
        await shutdown.value
        #expect(releases.value == 1, "shutdown returned before the instance was released")
        #expect(pool.isDrained)
        #expect(try await running.value.shape == [1, 4])
        #expect(try await queued.value.shape == [1, 4], "the queued request was dropped, not drained")
        #expect(gate.runCount == 2)
    }

    /// A pool that retires while a fast request runs on its caller's thread drains when that
    /// request gives its instance back.
    @Test func shutdownWaitsForARequestRunningInline() async throws {
        let gate = GatedModel()
        defer { gate.open() }
        let marks = CallerMarks()
        let model = FakeBackend.FakeModel(signature: gate.model.signature) { inputs, outputs in
            marks.record(CallerMarks.inCaller)
            return try gate.model.run(inputs, outputs)
        }
        let releases = RunCounter()
        let pool = PoolFixtures.pool([TrackedInstance(model, releases: releases)], executor: executor)
        // Until the pool has seen the model is fast and runs it on the caller's thread.
        var inline = false
        for _ in 0..<50 where !inline {
            try await CallerMarks.$inCaller.withValue(true) { try await PoolFixtures.infer(pool) }
            inline = marks.take().last == true
        }
        #expect(inline, "the model never ran on its caller's thread")
        gate.close()
        let running = Task { try await CallerMarks.$inCaller.withValue(true) { try await PoolFixtures.infer(pool) } }
        try await waitUntil("the request holds the only instance") { gate.heldCount == 1 }
        #expect(marks.take() == [true], "the request did not run on its caller's thread")
        let shutdown = Task { await pool.shutdown() }
        try await waitUntil("the pool retires") { pool.isRetiring }
        #expect(releases.value == 0)
        gate.open()
        await shutdown.value
        #expect(releases.value == 1)
        _ = try await running.value
    }
}
