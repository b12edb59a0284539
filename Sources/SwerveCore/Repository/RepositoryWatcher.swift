import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Watches a model repository's root folder and reports the model folders that appear in it or
/// disappear from it, so that the model manager can load models on demand without scanning the
/// repository for every unknown name.
///
/// Model folders are the root's direct children whose names do not start with "." (as in
/// ``ModelRepository/scan()``): folders, and links that lead to folders. Files are not reported.
/// Changes are hints: a folder reported as appeared may still be being filled, a name may be
/// reported twice; the caller reads the folder when it needs it.
///
/// Uses Linux inotify, read on a thread of its own that calls `onChange` for each change, in
/// order. The callback runs on that thread and should return quickly (hand the change to a
/// task or an `AsyncStream`). ``stop()``, or the end of the watcher, ends the thread.
///
/// ```swift
/// let watcher = try RepositoryWatcher(root: "/models") { change in continuation.yield(change) }
/// ```
public final class RepositoryWatcher: Sendable {
    /// What changed in the repository's root.
    public enum Change: Sendable, Hashable {
        /// A model folder of this name appeared (created, moved in, or linked).
        case appeared(String)
        /// The model folder of this name disappeared (deleted or moved out).
        case disappeared(String)
        /// The root itself was deleted, moved away or replaced, or inotify dropped events because
        /// too many came at once: the caller rescans the repository. After a root has been
        /// deleted or moved away, the watcher watches the folder that next appears at its path.
        case rootChanged
    }

    /// The folder watched.
    public let root: String

    #if canImport(Glibc)
    private let reader: Reader
    private let thread: Mutex<pthread_t?>
    #endif

    /// Starts watching `root`.
    ///
    /// - Parameters:
    ///   - root: The repository's root folder.
    ///   - onChange: Called on the watcher's thread for each change, until ``stop()``.
    /// - Throws: ``SwerveError``: `notFound` when `root` is not a folder; `unavailable` when the
    ///   system's limit on inotify instances or watches is reached; `unsupported` without Linux
    ///   inotify. The caller then checks the repository on a miss instead.
    public init(root: String, onChange: @escaping @Sendable (Change) -> Void) throws {
        self.root = root
        #if canImport(Glibc)
        let inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotify >= 0 else {
            let error = errno
            let reason =
                error == EMFILE
                ? "the limit on inotify instances (fs.inotify.max_user_instances) is reached"
                : Self.systemMessage(error)
            throw SwerveError(.unavailable, "cannot watch the model repository '\(root)': \(reason)")
        }
        var watches = Watches(inotify: inotify, root: root)
        let rootError = watches.watchRoot()
        guard watches.rootWatch >= 0 else {
            close(inotify)
            switch rootError {
            case ENOENT, ENOTDIR:
                throw SwerveError.notFound("model repository '\(root)' does not exist or is not a folder")
            case ENOSPC:
                throw SwerveError(
                    .unavailable,
                    "cannot watch the model repository '\(root)': the limit on inotify watches "
                        + "(fs.inotify.max_user_watches) is reached")
            default:
                throw SwerveError(
                    .unavailable, "cannot watch the model repository '\(root)': \(Self.systemMessage(rootError))")
            }
        }
        watches.watchParent()
        watches.findLinkedFolders()

        // Closing `wakeSender` wakes the thread; a socket pair is made close-on-exec atomically
        // (Swift's Glibc module has neither pipe2 nor eventfd).
        var wake: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0, &wake) == 0 else {
            let error = errno
            close(inotify)
            throw SwerveError(.unavailable, "cannot watch the model repository '\(root)': \(Self.systemMessage(error))")
        }
        reader = Reader(inotify: inotify, wakeReceiver: wake[0], wakeSender: wake[1], onChange: onChange)

        let context = Unmanaged.passRetained(ReaderContext(reader: reader, watches: watches)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(&thread, nil, { context in
            Unmanaged<ReaderContext>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard created == 0 else {
            Unmanaged<ReaderContext>.fromOpaque(context).release()
            close(inotify)
            close(wake[0])
            close(wake[1])
            throw SwerveError(
                .unavailable, "cannot start the model repository watcher: \(Self.systemMessage(created))")
        }
        self.thread = Mutex(thread)
        #else
        throw SwerveError(.unsupported, "watching the model repository '\(root)' needs Linux inotify (glibc)")
        #endif
    }

    /// Stops watching: ends the thread and closes the descriptors. Waits for a call of
    /// `onChange` in progress to return; once it returns, `onChange` is not called again. Called
    /// from `onChange` itself, it does not wait, and no call follows the current one. Calling it
    /// again does nothing.
    public func stop() {
        #if canImport(Glibc)
        guard let thread = thread.withLock({ $0.take() }) else { return }
        reader.stopped.store(true, ordering: .releasing)
        close(reader.wakeSender)
        if pthread_equal(thread, pthread_self()) != 0 {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
        #endif
    }

    deinit {
        stop()
    }

    #if canImport(Glibc)
    /// The kernel's id of the watcher's thread, once it has started (for tests).
    var threadID: Int? {
        let id = reader.threadID.load(ordering: .acquiring)
        return id > 0 ? id : nil
    }

    /// The inotify descriptor and the two ends of the wake-up socket (for tests).
    var descriptors: [Int32] { [reader.inotify, reader.wakeReceiver, reader.wakeSender] }

    private static func systemMessage(_ error: Int32) -> String {
        String(cString: strerror(error))
    }
    #endif
}

#if canImport(Glibc)
extension RepositoryWatcher {
    /// What the watcher and its thread share: descriptors, the callback and the stop flag.
    private final class Reader: Sendable {
        let inotify: Int32
        let wakeReceiver: Int32
        let wakeSender: Int32
        let onChange: @Sendable (Change) -> Void
        let stopped = Atomic<Bool>(false)
        let threadID = Atomic<Int>(0)

        init(inotify: Int32, wakeReceiver: Int32, wakeSender: Int32, onChange: @escaping @Sendable (Change) -> Void) {
            self.inotify = inotify
            self.wakeReceiver = wakeReceiver
            self.wakeSender = wakeSender
            self.onChange = onChange
        }
    }

    /// What the thread starts with; it alone uses ``Watches`` from then on.
    private final class ReaderContext {
        let reader: Reader
        var watches: Watches

        init(reader: Reader, watches: Watches) {
            self.reader = reader
            self.watches = watches
        }

        /// Reads events until the watcher stops, then closes the inotify descriptor and the
        /// socket's receiving end (``stop()`` closes the sending end).
        func run() {
            reader.threadID.store(Self.currentThreadID(), ordering: .releasing)
            // Big enough for many events; the kernel returns only whole events.
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
            defer {
                buffer.deallocate()
                close(reader.inotify)
                close(reader.wakeReceiver)
            }
            var parser = InotifyEventParser()
            while !reader.stopped.load(ordering: .acquiring) {
                var descriptors = [
                    pollfd(fd: reader.inotify, events: Int16(POLLIN), revents: 0),
                    pollfd(fd: reader.wakeReceiver, events: Int16(POLLIN), revents: 0),
                ]
                guard poll(&descriptors, 2, -1) >= 0 else {
                    if errno == EINTR || errno == EAGAIN || errno == ENOMEM { continue }
                    return
                }
                if descriptors[1].revents != 0 { return }
                while true {
                    let count = read(reader.inotify, buffer.baseAddress, buffer.count)
                    if count < 0 && errno == EINTR { continue }
                    guard count > 0 else { break }
                    parser.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                }
                while let event = parser.next() {
                    for change in watches.changes(for: event) {
                        guard !reader.stopped.load(ordering: .acquiring) else { return }
                        reader.onChange(change)
                    }
                }
            }
        }

        /// The kernel's thread id, from the link /proc/thread-self ("<pid>/task/<tid>").
        private static func currentThreadID() -> Int {
            var target = [CChar](repeating: 0, count: 64)
            let length = readlink("/proc/thread-self", &target, target.count - 1)
            guard length > 0 else { return -1 }
            let text = String(decoding: target[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return text.split(separator: "/").last.flatMap { Int($0) } ?? -1
        }
    }

    /// The watches on the root and its parent, and the links in the root that lead to folders.
    /// Used by the watcher's thread only.
    private struct Watches {
        let inotify: Int32
        let root: String
        /// The folder holding the root and the root's name in it, to notice a new root at the
        /// path; `nil` for "/", ".", "..".
        let parent: (path: String, rootName: String)?
        var rootWatch: Int32 = -1
        var parentWatch: Int32 = -1
        /// Links in the root that led to folders when last seen: their removal is reported,
        /// a file's is not (an event for a removed link does not say where it led).
        var linkedFolders: Set<String> = []

        private static let rootMask = UInt32(
            bitPattern: IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF
                | IN_ONLYDIR)
        private static let parentMask = UInt32(
            bitPattern: IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
        private static let rootGone = UInt32(bitPattern: IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)
        private static let added = UInt32(bitPattern: IN_CREATE | IN_MOVED_TO)
        private static let removed = UInt32(bitPattern: IN_DELETE | IN_MOVED_FROM)
        private static let isFolder = UInt32(bitPattern: IN_ISDIR)

        init(inotify: Int32, root: String) {
            self.inotify = inotify
            self.root = root
            var path = Substring(root)
            while path.count > 1 && path.hasSuffix("/") { path = path.dropLast() }
            let name = path.split(separator: "/").last.map(String.init) ?? ""
            if name.isEmpty || name == "." || name == ".." {
                parent = nil
            } else if let slash = path.lastIndex(of: "/") {
                parent = (slash == path.startIndex ? "/" : String(path[..<slash]), name)
            } else {
                parent = (".", name)
            }
        }

        /// Watches the folder now at the root's path, replacing the watch on a folder that was
        /// there before. Returns the error, or 0.
        @discardableResult
        mutating func watchRoot() -> Int32 {
            let watch = inotify_add_watch(inotify, root, Self.rootMask)
            guard watch >= 0 else { return errno }
            if rootWatch >= 0 && rootWatch != watch {
                inotify_rm_watch(inotify, rootWatch)
            }
            rootWatch = watch
            return 0
        }

        /// Watches the root's parent, if it can (a new root at the path is then noticed).
        mutating func watchParent() {
            guard let parent else { return }
            parentWatch = inotify_add_watch(inotify, parent.path, Self.parentMask)
        }

        /// Notes the links in the root that lead to folders, whose removal is to be reported.
        mutating func findLinkedFolders() {
            guard let folder = opendir(root) else { return }
            defer { closedir(folder) }
            while let entry = readdir(folder) {
                let type = entry.pointee.d_type
                guard type == UInt8(DT_LNK) || type == UInt8(DT_UNKNOWN) else { continue }
                let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                    String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if !name.hasPrefix(".") && leadsToFolder(name) { linkedFolders.insert(name) }
            }
        }

        /// The changes one event means.
        mutating func changes(for event: InotifyEvent) -> [Change] {
            if event.mask & UInt32(bitPattern: IN_Q_OVERFLOW) != 0 { return [.rootChanged] }
            if event.watch == rootWatch {
                if event.mask & Self.rootGone != 0 {
                    if event.mask & UInt32(bitPattern: IN_MOVE_SELF) != 0 {
                        // The watch would follow the folder to its new place.
                        inotify_rm_watch(inotify, rootWatch)
                    }
                    rootWatch = -1
                    watchRoot()  // A new folder may be at the path already.
                    return [.rootChanged]
                }
                if event.mask & UInt32(bitPattern: IN_IGNORED) != 0 {
                    rootWatch = -1
                    return []
                }
                return modelFolderChanges(for: event)
            }
            if event.watch == parentWatch {
                if event.mask & Self.rootGone != 0 || event.mask & UInt32(bitPattern: IN_IGNORED) != 0 {
                    if event.mask & UInt32(bitPattern: IN_MOVE_SELF) != 0 { inotify_rm_watch(inotify, parentWatch) }
                    parentWatch = -1
                } else if event.mask & Self.added != 0 && event.name == parent?.rootName {
                    let before = rootWatch
                    if watchRoot() == 0 && rootWatch != before { return [.rootChanged] }
                }
            }
            return []
        }

        private mutating func modelFolderChanges(for event: InotifyEvent) -> [Change] {
            let name = event.name
            guard !name.isEmpty, !name.hasPrefix(".") else { return [] }
            let wasLinkedFolder = linkedFolders.remove(name) != nil
            if event.mask & Self.added != 0 {
                if event.mask & Self.isFolder != 0 { return [.appeared(name)] }
                if leadsToFolder(name) {
                    linkedFolders.insert(name)
                    return [.appeared(name)]
                }
                // A file moved over a link to a folder replaced it.
                return wasLinkedFolder ? [.disappeared(name)] : []
            }
            if event.mask & Self.removed != 0 && (event.mask & Self.isFolder != 0 || wasLinkedFolder) {
                return [.disappeared(name)]
            }
            return []
        }

        /// Whether the root's entry `name` is, or links to, a folder.
        private func leadsToFolder(_ name: String) -> Bool {
            var info = stat()
            return stat(root + "/" + name, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
        }
    }
}
#endif

/// One record read from an inotify descriptor.
struct InotifyEvent: Equatable {
    /// The watch it is about.
    var watch: Int32
    /// What happened (`IN_CREATE`, …, with `IN_ISDIR` for a folder).
    var mask: UInt32
    /// Pairs an `IN_MOVED_FROM` with its `IN_MOVED_TO`.
    var cookie: UInt32
    /// The entry's name in the watched folder; empty for an event about the folder itself.
    var name: String
}

/// Splits the bytes read from an inotify descriptor into events. Each is a `struct
/// inotify_event`: `wd`, `mask`, `cookie` and `len` (32 bits each, in the machine's byte order),
/// then `len` bytes of name padded with NULs. Bytes of an event not yet complete wait for the next
/// ``append(_:)``.
struct InotifyEventParser {
    static let headerSize = 16

    private var pending: [UInt8] = []
    private var start = 0

    /// Adds bytes read from the descriptor.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if start > 0 {
            pending.removeFirst(start)
            start = 0
        }
        pending.append(contentsOf: bytes)
    }

    /// The next complete event, or `nil` until more bytes arrive.
    mutating func next() -> InotifyEvent? {
        guard pending.count - start >= Self.headerSize else { return nil }
        let start = start
        let parsed = pending.withUnsafeBytes { bytes -> (InotifyEvent, end: Int)? in
            func field(_ index: Int) -> UInt32 {
                bytes.loadUnaligned(fromByteOffset: start + 4 * index, as: UInt32.self)
            }
            let end = start + Self.headerSize + Int(field(3))
            guard end <= bytes.count else { return nil }
            let name = bytes[(start + Self.headerSize)..<end].prefix(while: { $0 != 0 })
            let event = InotifyEvent(
                watch: Int32(bitPattern: field(0)), mask: field(1), cookie: field(2),
                name: String(decoding: name, as: UTF8.self))
            return (event, end)
        }
        guard let parsed else { return nil }
        self.start = parsed.end
        return parsed.0
    }
}
