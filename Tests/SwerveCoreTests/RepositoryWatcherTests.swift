import Foundation
import Glibc
import Synchronization
@testable import SwerveCore
import SwerveTesting
import Testing

/// The changes a watcher reports, in order.
private final class ChangeLog: Sendable {
    private let changes = Mutex<[RepositoryWatcher.Change]>([])

    func record(_ change: RepositoryWatcher.Change) { changes.withLock { $0.append(change) } }
    var all: [RepositoryWatcher.Change] { changes.withLock { $0 } }

    /// Waits until `count` changes have come, then returns them all.
    func waitFor(_ count: Int) async throws -> [RepositoryWatcher.Change] {
        try await waitUntil("\(count) changes came (have \(all))") { all.count >= count }
        return all
    }
}

/// Model folders appearing in and disappearing from a repository's root, seen through inotify.
@Suite(.serialized)
struct RepositoryWatcherTests {
    /// A created folder is reported as appeared, a removed one as disappeared.
    @Test func createdAndRemovedFoldersAreReported() async throws {
        try await withWatcher { root, log, _ in
            try check(mkdir(root + "/resnet", 0o755))
            #expect(try await log.waitFor(1) == [.appeared("resnet")])
            try check(rmdir(root + "/resnet"))
            #expect(try await log.waitFor(2) == [.appeared("resnet"), .disappeared("resnet")])
        }
    }

    /// A folder renamed in the root is the old name gone and the new one there; folders moved in
    /// from elsewhere appear, folders moved out disappear.
    @Test func renamedAndMovedFoldersAreReported() async throws {
        let outside = try TemporaryRepository()
        defer { outside.remove() }
        try await withWatcher { root, log, _ in
            try check(mkdir(root + "/a", 0o755))
            try check(rename(root + "/a", root + "/b"))
            try check(mkdir(outside.root + "/c", 0o755))
            try check(rename(outside.root + "/c", root + "/c"))
            try check(rename(root + "/b", outside.root + "/b"))
            #expect(
                try await log.waitFor(5) == [
                    .appeared("a"), .disappeared("a"), .appeared("b"), .appeared("c"), .disappeared("b"),
                ])
        }
    }

    /// Files and hidden folders are no model folders; a hidden folder renamed to a model name
    /// appears, and a model folder renamed to a hidden name disappears.
    @Test func filesAndHiddenFoldersAreNotReported() async throws {
        try await withWatcher { root, log, _ in
            _ = FileManager.default.createFile(atPath: root + "/README.md", contents: Data("x".utf8))
            try check(rename(root + "/README.md", root + "/NOTES.md"))
            try check(unlink(root + "/NOTES.md"))
            try check(mkdir(root + "/.staging", 0o755))
            try check(mkdir(root + "/.staging/1", 0o755))
            try check(rename(root + "/.staging", root + "/bert"))
            try check(rename(root + "/bert", root + "/.trash"))
            try check(rmdir(root + "/.trash/1"))
            try check(rmdir(root + "/.trash"))
            // Reported after everything above: nothing above is reported late.
            try check(mkdir(root + "/marker", 0o755))
            try await waitUntil("the marker is reported") { log.all.contains(.appeared("marker")) }
            #expect(log.all == [.appeared("bert"), .disappeared("bert"), .appeared("marker")])
        }
    }

    /// A link to a folder is a model folder, also one made before the watcher started; a link to
    /// a file is not.
    @Test func linksToFoldersAreModelFolders() async throws {
        let outside = try TemporaryRepository()
        defer { outside.remove() }
        try outside.addModel("target")
        _ = FileManager.default.createFile(atPath: outside.root + "/file", contents: Data())
        let repository = try TemporaryRepository()
        defer { repository.remove() }
        try check(symlink(outside.root + "/target", repository.root + "/early"))

        try await withWatcher(root: repository.root) { root, log, _ in
            try check(symlink(outside.root + "/file", root + "/filelink"))
            try check(symlink(outside.root + "/target", root + "/linked"))
            // Where a link leads is read when its event is, so it must still be there.
            #expect(try await log.waitFor(1) == [.appeared("linked")])
            try check(unlink(root + "/filelink"))
            try check(unlink(root + "/linked"))
            try check(unlink(root + "/early"))
            #expect(try await log.waitFor(3) == [.appeared("linked"), .disappeared("linked"), .disappeared("early")])
        }
    }

    /// A root moved away is a root change, and so is a new folder at its path, which is then
    /// watched instead: changes in the old folder are no longer reported. Deleting the root is
    /// a root change too.
    @Test func aReplacedOrDeletedRootIsReportedAndTheNewRootWatched() async throws {
        let repository = try TemporaryRepository()
        let old = repository.root + ".old"
        defer {
            repository.remove()
            try? FileManager.default.removeItem(atPath: old)
        }
        try await withWatcher(root: repository.root) { root, log, _ in
            try check(rename(root, old))
            #expect(try await log.waitFor(1) == [.rootChanged])
            try check(mkdir(root, 0o755))
            #expect(try await log.waitFor(2) == [.rootChanged, .rootChanged])
            try check(mkdir(old + "/ghost", 0o755))
            try check(mkdir(root + "/resnet", 0o755))
            #expect(try await log.waitFor(3) == [.rootChanged, .rootChanged, .appeared("resnet")])
            try check(rmdir(root + "/resnet"))
            try check(rmdir(root))
            #expect(
                try await log.waitFor(5) == [
                    .rootChanged, .rootChanged, .appeared("resnet"), .disappeared("resnet"), .rootChanged,
                ])
        }
    }

    /// A root that is missing or not a folder is refused with notFound.
    @Test func aMissingRootIsNotFound() throws {
        let repository = try TemporaryRepository()
        defer { repository.remove() }
        _ = FileManager.default.createFile(atPath: repository.root + "/file", contents: Data())
        for root in [repository.root + "/missing", repository.root + "/file"] {
            let error = #expect(throws: SwerveError.self) { _ = try RepositoryWatcher(root: root) { _ in } }
            #expect(error?.code == .notFound)
        }
    }

    /// After stop() the thread has ended, the descriptors are closed and no change is reported,
    /// while a second watcher of the same root still sees them.
    @Test func stopEndsTheThreadTheDescriptorsAndTheCallbacks() async throws {
        let repository = try TemporaryRepository()
        defer { repository.remove() }
        let witnessLog = ChangeLog()
        let witness = try RepositoryWatcher(root: repository.root) { witnessLog.record($0) }
        defer { witness.stop() }

        try await withWatcher(root: repository.root) { root, log, watcher in
            try check(mkdir(root + "/a", 0o755))
            #expect(try await log.waitFor(1) == [.appeared("a")])
            let thread = try #require(watcher.threadID)
            let descriptors = watcher.descriptors.map { ($0, identity(of: $0)) }
            #expect(descriptors.allSatisfy { $0.1 != nil })

            watcher.stop()
            try await waitUntil("the watcher's thread has ended") { !threadExists(thread) }
            for (descriptor, before) in descriptors {
                #expect(identity(of: descriptor) != before, "descriptor \(descriptor) is still open")
            }
            try check(mkdir(root + "/b", 0o755))
            try await waitUntil("the witness saw b") { witnessLog.all.contains(.appeared("b")) }
            #expect(log.all == [.appeared("a")])
        }
    }

    /// stop() called from the callback ends the watcher after that call, though more changes
    /// came in the same read.
    @Test func stopFromTheCallbackEndsTheWatcher() async throws {
        let repository = try TemporaryRepository()
        defer { repository.remove() }
        let log = ChangeLog()
        let box = Mutex<RepositoryWatcher?>(nil)
        let gate = DispatchSemaphore(value: 0)
        let watcher = try RepositoryWatcher(root: repository.root) { change in
            log.record(change)
            if change == .appeared("gate") {
                gate.wait()  // Holds the thread while a, b and c are made: they come in one read.
            } else {
                box.withLock { $0 }?.stop()
            }
        }
        box.withLock { $0 = watcher }
        defer { box.withLock { $0 = nil } }
        defer { gate.signal() }  // Never leaves the thread held, so that the watcher can end.

        try check(mkdir(repository.root + "/gate", 0o755))
        #expect(try await log.waitFor(1) == [.appeared("gate")])
        let thread = try #require(watcher.threadID)
        for name in ["a", "b", "c"] { try check(mkdir(repository.root + "/" + name, 0o755)) }
        gate.signal()
        try await waitUntil("the watcher's thread has ended") { !threadExists(thread) }
        #expect(log.all == [.appeared("gate"), .appeared("a")])
    }

    /// A watcher no longer referenced stops.
    @Test func aDroppedWatcherStops() async throws {
        let repository = try TemporaryRepository()
        defer { repository.remove() }
        var watcher: RepositoryWatcher? = try RepositoryWatcher(root: repository.root) { _ in }
        try await waitUntil("the watcher's thread has started") { watcher?.threadID != nil }
        let thread = try #require(watcher?.threadID)
        watcher = nil
        try await waitUntil("the watcher's thread has ended") { !threadExists(thread) }
    }

    // MARK: - Reading inotify's records

    /// Several events in one read come out one by one, names without their padding.
    @Test func severalEventsInOneReadAreSplit() {
        let events = [
            InotifyEvent(watch: 1, mask: 0x100, cookie: 0, name: "resnet"),
            InotifyEvent(watch: 1, mask: 0x4000_0040, cookie: 7, name: "bert-large-uncased"),
            InotifyEvent(watch: 2, mask: 0x400, cookie: 0, name: ""),
        ]
        var parser = InotifyEventParser()
        append(events.flatMap { encode($0) }, to: &parser)
        #expect(drain(&parser) == events)
        #expect(parser.next() == nil)
    }

    /// An event cut anywhere by the end of a read is completed by the next one.
    @Test func anEventSplitAcrossReadsIsJoined() {
        let events = [
            InotifyEvent(watch: 3, mask: 0x200, cookie: 0, name: "model-with-a-long-name"),
            InotifyEvent(watch: 3, mask: 0x80, cookie: 9, name: "x"),
        ]
        let bytes = events.flatMap { encode($0) }
        for cut in 1..<bytes.count {
            var parser = InotifyEventParser()
            append(Array(bytes[..<cut]), to: &parser)
            var seen = drain(&parser)
            append(Array(bytes[cut...]), to: &parser)
            seen += drain(&parser)
            #expect(seen == events, "cut at \(cut)")
        }
    }

    // MARK: - Helpers

    /// Runs `body` with a watcher of a temporary repository (or of `root`) and its log.
    private func withWatcher(
        root: String? = nil, _ body: (String, ChangeLog, RepositoryWatcher) async throws -> Void
    ) async throws {
        let repository = try TemporaryRepository()
        defer { repository.remove() }
        let root = root ?? repository.root
        let log = ChangeLog()
        let watcher = try RepositoryWatcher(root: root) { log.record($0) }
        defer { watcher.stop() }
        try await body(root, log, watcher)
    }

    private func encode(_ event: InotifyEvent, padding: Int = 16) -> [UInt8] {
        var name = Array(event.name.utf8)
        if !name.isEmpty {
            name += [UInt8](repeating: 0, count: padding - name.count % padding)
        }
        var bytes: [UInt8] = []
        for field in [UInt32(bitPattern: event.watch), event.mask, event.cookie, UInt32(name.count)] {
            withUnsafeBytes(of: field) { bytes += $0 }
        }
        return bytes + name
    }

    private func append(_ bytes: [UInt8], to parser: inout InotifyEventParser) {
        bytes.withUnsafeBytes { parser.append($0) }
    }

    private func drain(_ parser: inout InotifyEventParser) -> [InotifyEvent] {
        var events: [InotifyEvent] = []
        while let event = parser.next() { events.append(event) }
        return events
    }
}

private struct SystemCallFailed: Error, CustomStringConvertible {
    var description: String
}

/// Throws when a system call returned -1.
private func check(_ result: Int32) throws {
    if result != 0 { throw SystemCallFailed(description: String(cString: strerror(errno))) }
}

private func threadExists(_ id: Int) -> Bool {
    access("/proc/self/task/\(id)", F_OK) == 0
}

/// What a descriptor refers to: its link ("socket:[inode]", "anon_inode:inotify") and its fdinfo
/// (an inotify's lists its watches' inodes); `nil` when it is closed.
private func identity(of descriptor: Int32) -> String? {
    guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)"),
          let info = try? String(contentsOfFile: "/proc/self/fdinfo/\(descriptor)", encoding: .utf8)
    else { return nil }
    return link + "\n" + info.split(separator: "\n").filter { !$0.hasPrefix("pos:") }.joined(separator: "\n")
}
