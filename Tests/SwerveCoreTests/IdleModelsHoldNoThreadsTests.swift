import Foundation
@testable import SwerveCore
import SwerveTesting
import Testing

/// Loaded models cost threads only while they have work: hundreds of them share a bounded set of
/// executor threads instead of holding one thread per instance.
struct IdleModelsHoldNoThreadsTests {
    /// The most threads the whole process may gain: tests running alongside start their own
    /// meanwhile (29 seen on 2 cores in a full `swift test`), so the process-wide count is only
    /// held to well under a thread per pool (300). The executor's own threads, which the bound is
    /// about, are counted exactly, by name.
    static let processSlack = 100

    /// Three hundred idle pools start no thread; requests to all of them at once run on the
    /// executor's threads alone, never more than its limit, and those exit once idle.
    @Test func threadCountDoesNotGrowWithLoadedModels() async throws {
        let executor = ExecutionThreads(limit: 4, idleTimeout: .milliseconds(200), name: "swerve-t300")
        let gate = GatedModel()
        defer { gate.open() }  // a failed wait below must not leave runs blocked
        let start = ProcessThreads.count
        let pools = (0..<300).map { PoolFixtures.pool([TrackedInstance(gate.model)], name: "m\($0)", executor: executor) }
        let idle = ProcessThreads.count
        #expect(idle - start < Self.processSlack, "300 idle pools started \(idle - start) threads")

        gate.close()
        let answers = pools.map { pool in Task { try await PoolFixtures.infer(pool) } }
        try await waitUntil("each executor thread holds a run") { gate.heldCount == executor.limit }
        let busy = ProcessThreads.count
        #expect(ProcessThreads.named("swerve-t300") == executor.limit)
        #expect(busy - start < Self.processSlack, "300 busy pools took \(busy - start) threads")
        gate.open()
        for answer in answers { _ = try await answer.value }
        let after = ProcessThreads.count
        #expect(ProcessThreads.named("swerve-t300") <= executor.limit)
        #expect(after - start < Self.processSlack, "300 pools that ran left \(after - start) threads")
        #expect(gate.runCount == 300)

        try await waitUntil("the idle executor threads exit") { ProcessThreads.named("swerve-t300") == 0 }
        #expect(executor.threadCount == 0)
        print("threads: start \(start), 300 idle pools \(idle), 300 requests held \(busy), after \(after), idle again \(ProcessThreads.count)")
    }
}
