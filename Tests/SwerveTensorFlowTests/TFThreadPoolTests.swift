import Foundation
import SwerveCore
@testable import SwerveTensorFlow
import Testing

/// Every session runs on TensorFlow's process-wide pools, so many models cost no more threads
/// than one.
struct TFThreadPoolTests {
    /// The configuration every session gets: the intra-op size, no per-session threads, and
    /// operations in the calling thread unless an inter-op pool above 1 is asked for.
    @Test func sessionConfigurationAsksForTheSharedPools() throws {
        let sequential = try Tensorflow_ConfigProto(serializedBytes: try TFRuntime.sessionConfig(intraOpThreads: 3, interOpThreads: 1))
        #expect(sequential.intraOpParallelismThreads == 3)
        #expect(sequential.interOpParallelismThreads == -1)
        #expect(!sequential.usePerSessionThreads)
        #expect(sequential.sessionInterOpThreadPool.isEmpty)
        let pooled = try Tensorflow_ConfigProto(serializedBytes: try TFRuntime.sessionConfig(intraOpThreads: 2, interOpThreads: 4))
        #expect(pooled.intraOpParallelismThreads == 2)
        #expect(pooled.interOpParallelismThreads == 4)
    }

    /// Sixty more sessions, each run once, start no threads: sessions with pools of their own
    /// would start at least three each (two intra-op threads and an inter-op one).
    @Test(.enabled(if: TFFixture.runsTFTests))
    func manySessionsStartNoThreads() throws {
        let x = NamedTensor(name: "x", tensor: Tensor(dataType: .fp32, shape: [1, 4], data: [UInt8](repeating: 0, count: 16)))
        let first = try TFFixture.load("dense")
        _ = try first.run(inputs: [x], outputs: ["y"])
        let before = try Self.threadNames()
        var sessions: [any ModelInstance] = []
        for _ in 0..<60 {
            let session = try TFFixture.load("dense")
            _ = try session.run(inputs: [x], outputs: ["y"])
            sessions.append(session)
        }
        let after = try Self.threadNames()
        // Tests running alongside start threads of their own meanwhile; TensorFlow's are counted
        // by name (`tf_Compute`, ...; its intra-op threads' names are too long to be set and keep
        // their creator's), the process's as a whole only held well under a thread per session.
        let tensorFlow = { (names: [String]) in names.filter { $0.hasPrefix("tf_") }.count }
        #expect(tensorFlow(after) - tensorFlow(before) <= 2, "before: \(before), after: \(after)")
        #expect(after.count - before.count < 30, "before: \(before.count) threads, after: \(after.count)")
        #expect(sessions.count == 60)
    }

    /// The names of the process's threads, from `/proc/self/task/*/comm`.
    static func threadNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { task in
            // A thread may end between the listing and the read.
            (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
