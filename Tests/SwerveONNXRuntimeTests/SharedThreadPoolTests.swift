import Foundation
import SwerveCore
import SwerveONNXRuntime
import Synchronization
import Testing

/// Every session runs on the one intra-op pool of the process's ONNX Runtime environment, so
/// loading more models starts no more threads.
@Suite(.enabled(if: ORTFixture.runsORTTests))
struct SharedThreadPoolTests {
    /// 100 sessions that each ask for 3 intra-op threads start no threads, and each computes its output.
    @Test func hundredSessionsStartNoThreadsAndEachComputesItsOutput() throws {
        let backend = try ORTFixture.backend()
        let path = try ORTFixture.dataset("mul_1.onnx")
        let options = InstanceOptions(intraOpThreads: 3, interOpThreads: 1)

        let before = try Self.threadCount()
        let sessions = try (0..<100).map { _ in try backend.loadInstance(modelPath: path, options: options) }
        let after = try Self.threadCount()
        // A pool per session started 2 threads each (200 in all). The slack is for threads that
        // tests running alongside start meanwhile (29 seen in a full `swift test` on 2 cores).
        #expect(after - before < 60, "threads went from \(before) to \(after) while 100 sessions loaded")

        for (index, session) in sessions.enumerated() {
            let x = (0..<6).map { Float(index * 10 + $0) }
            let y = try session.run(inputs: [NamedTensor(name: "X", tensor: .of(.fp32, [3, 2], x))], outputs: ["Y"])
            #expect(y[0].tensor.values(as: Float.self) == zip(x, [1, 2, 3, 4, 5, 6]).map(*), "session \(index)")
        }
    }

    /// Runs of several sessions at once, each large enough to be split over the shared pool, are all correct.
    @Test(.enabled(if: ORTFixture.runsPythonTests))
    func concurrentRunsOfSessionsSharingThePoolAreCorrect() throws {
        let path = try ORTFixture.generated("matmul_double")
        let sessions = try (0..<4).map { _ in try ORTFixture.load(path) }
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for round in 0..<20 {
                let x = (0..<(64 * 256)).map { Float((thread * 131 + round * 17 + $0) % 1000) }
                do {
                    let y = try sessions[thread % 4].run(
                        inputs: [NamedTensor(name: "x", tensor: .of(.fp32, [64, 256], x))], outputs: ["y"])
                    if y[0].tensor.shape != [64, 256] || y[0].tensor.values(as: Float.self) != x.map({ $0 * 2 }) {
                        failures.withLock { $0.append("thread \(thread) round \(round): wrong result") }
                    }
                } catch {
                    failures.withLock { $0.append("thread \(thread) round \(round): \(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
    }

    /// The first backend sizes the pool (by default to the CPU budget); a later one shares it and reports its size.
    @Test func laterBackendSharesTheFirstBackendsPool() throws {
        let first = try ORTFixture.backend()
        #expect(first.intraOpThreads == CPUBudget.available())
        let later = try ONNXRuntimeBackend(libraryPath: first.libraryPath, intraOpThreads: first.intraOpThreads + 5)
        #expect(later.intraOpThreads == first.intraOpThreads)
    }

    /// The threads of this process: the entries of `/proc/self/task`.
    private static func threadCount() throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count
    }
}
