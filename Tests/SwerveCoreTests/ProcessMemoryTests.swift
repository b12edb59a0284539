import Foundation
import Glibc
import SwerveCore
import Testing

/// The process's allocated bytes, resident bytes and thread count, from glibc and /proc.
///
/// Tests of other suites allocate and start threads at the same time, so each measurement is
/// taken up to five times and one clean reading passes; reading a wrong field fails every time.
@Suite(.serialized)
struct ProcessMemoryTests {
    static let size = 64 << 20
    static let slack = 1 << 20

    /// One 64 MiB block, which malloc maps on its own (glibc's `hblkhd`), counts while allocated.
    @Test func aMappedBlockCountsUntilFreed() throws {
        let clean = try attempts { () throws -> Bool in
            let before = try #require(ProcessMemory.allocatedBytes())
            let block = try #require(malloc(Self.size))
            let allocated = try #require(ProcessMemory.allocatedBytes())
            free(block)
            let freed = try #require(ProcessMemory.allocatedBytes())
            return isAbout(allocated - before, Self.size) && isAbout(freed - before, 0)
        }
        #expect(clean)
    }

    /// 64 MiB in 1,024 blocks of 64 KiB, which come from malloc's heaps (its `uordblks`), counts
    /// while allocated, and not once freed though the heap keeps the pages.
    @Test func heapBlocksCountUntilFreed() throws {
        let clean = try attempts { () throws -> Bool in
            let before = try #require(ProcessMemory.allocatedBytes())
            let blocks = (0..<1024).map { _ in malloc(64 << 10)! }
            // Allocated last, so the freed blocks stay inside the heap instead of being trimmed
            // off its top: the heap's size (`arena`) stays, what is in use goes.
            let pin = malloc(64 << 10)!
            let allocated = try #require(ProcessMemory.allocatedBytes())
            blocks.forEach { free($0) }
            let freed = try #require(ProcessMemory.allocatedBytes())
            free(pin)
            return isAbout(allocated - before, Self.size + (64 << 10)) && isAbout(freed - before, 64 << 10)
        }
        #expect(clean)
    }

    /// Mapping 64 MiB leaves the resident size as it is; touching every page raises it by 64 MiB
    /// (statm's resident field, not the process's size), and unmapping lowers it again.
    @Test func touchedPagesAreResidentUntilFreed() throws {
        let clean = try attempts { () throws -> Bool in
            let before = try #require(ProcessMemory.residentBytes())
            let block = try #require(malloc(Self.size))
            let mapped = try #require(ProcessMemory.residentBytes())
            memset(block, 1, Self.size)
            let touched = try #require(ProcessMemory.residentBytes())
            free(block)
            let freed = try #require(ProcessMemory.residentBytes())
            return isAbout(mapped - before, 0) && isAbout(touched - before, Self.size) && isAbout(freed - before, 0)
        }
        #expect(clean)
    }

    /// The count is the kernel's: the `Threads:` line of /proc/self/status.
    @Test func threadCountIsTheKernels() throws {
        let clean = try attempts { () throws -> Bool in
            let counted = try #require(ProcessMemory.threadCount())
            let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Threads:") })
            return counted == Int(line.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces))
        }
        #expect(clean)
    }

    /// Four started threads, blocked, add four to the count.
    @Test func startedThreadsAreCounted() throws {
        let clean = try attempts { () throws -> Bool in
            var ends: [Int32] = [-1, -1]
            try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0)
            let before = try #require(ProcessMemory.threadCount())
            var threads: [pthread_t] = []
            for _ in 0..<4 {
                var thread = pthread_t()
                // Each waits until the other end closes.
                let started = pthread_create(&thread, nil, { fd in
                    var byte: UInt8 = 0
                    _ = read(Int32(Int(bitPattern: fd)), &byte, 1)
                    return nil
                }, UnsafeMutableRawPointer(bitPattern: Int(ends[0])))
                try #require(started == 0)
                threads.append(thread)
            }
            let during = try #require(ProcessMemory.threadCount())
            close(ends[1])
            threads.forEach { pthread_join($0, nil) }
            close(ends[0])
            return during - before == 4
        }
        #expect(clean)
    }

    private func isAbout(_ measured: Int, _ expected: Int) -> Bool {
        abs(measured - expected) <= Self.slack
    }

    /// Whether any of five runs of `measure` reads cleanly.
    private func attempts(_ measure: () throws -> Bool) throws -> Bool {
        for _ in 0..<5 {
            if try measure() { return true }
        }
        return false
    }
}
