@testable import SwerveCore
import SwerveTesting
import Testing

/// The order in which pools were last used, for a memory manager that unloads the least
/// recently used model first.
struct LastUsedTickTests {
    /// A pool is stamped when made and by every request, from one counter shared by all pools,
    /// inline runs included, so the pool used (or made) longest ago has the smallest tick.
    @Test func lastUsedTickOrdersPoolsByLastUse() async throws {
        let executor = ExecutionThreads(limit: 2, name: "swerve-ttick")
        let first = PoolFixtures.pool([TrackedInstance(.identity())], executor: executor)
        let second = PoolFixtures.pool([TrackedInstance(.identity())], executor: executor)
        #expect(first.lastUsedTick > 0 && second.lastUsedTick > first.lastUsedTick, "made counts as used")
        try await PoolFixtures.infer(first)
        #expect(first.lastUsedTick > second.lastUsedTick)
        try await PoolFixtures.infer(second)
        #expect(second.lastUsedTick > first.lastUsedTick)
        var previous = second.lastUsedTick
        for _ in 0..<20 {  // fast runs: most of these run on the calling thread
            try await PoolFixtures.infer(first)
            #expect(first.lastUsedTick > previous)
            previous = first.lastUsedTick
        }
        #expect(first.lastUsedTick > second.lastUsedTick)
    }
}
