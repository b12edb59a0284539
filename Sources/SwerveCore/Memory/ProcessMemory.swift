#if canImport(Glibc)
import Glibc
#endif

/// How much memory the process holds, and how many threads it runs, read from the allocator and
/// from `/proc`, for the model manager's memory budget and for diagnostics.
///
/// Each reading is a system call or two; none allocates through Foundation. All return `nil`
/// where the source is missing (no glibc, no `/proc`).
public enum ProcessMemory {
    /// glibc's `struct mallinfo2` (malloc.h, glibc 2.33 and later): ten `size_t` fields, in
    /// this order.
    private enum MallocInfoField: Int {
        case arena  // non-mmapped space taken from the system
        case ordblks  // free chunks
        case smblks  // fastbin blocks
        case hblks  // mmapped blocks
        case hblkhd  // bytes in mmapped blocks
        case usmblks  // always 0
        case fsmblks  // bytes in freed fastbin blocks
        case uordblks  // bytes in use in the heaps
        case fordblks  // bytes free in the heaps
        case keepcost  // bytes malloc_trim could give back from the top of the main heap
    }

    #if canImport(Glibc)
    /// Holds what `mallinfo2()` returns. Swift's Glibc module leaves out malloc.h, so the function
    /// is looked up by name (as in ``Malloc``), and `@convention(c)` takes only C types: the
    /// result is declared as `fd_set`, a C struct of sixteen longs (128 bytes). A C struct of more
    /// than 16 bytes of integers comes back through memory the caller provides, on x86-64 and on
    /// arm64 alike, so the function writes its 80 bytes into the first 80 of this one.
    private typealias MallocInfo = fd_set

    private static let mallinfo2: (@convention(c) () -> MallocInfo)? = {
        guard MemoryLayout<MallocInfo>.size >= 10 * MemoryLayout<Int>.size,
              let symbol = dlsym(nil, "mallinfo2")
        else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) () -> MallocInfo).self)
    }()
    #endif

    /// The bytes malloc has handed out and not had back, over all its arenas: the heaps' chunks
    /// in use (`uordblks`) plus the blocks mapped on their own (`hblkhd`), from glibc's
    /// `mallinfo2()`. Counts chunk headers and the small freed chunks glibc keeps in its
    /// per-thread caches as in use; memory the process maps without malloc (a model file mapped
    /// by the runtime) is not included. Takes every arena's lock and walks its free lists, so call
    /// it per load, not per request. `nil` without glibc 2.33 or later.
    public static func allocatedBytes() -> Int? {
        #if canImport(Glibc)
        guard let mallinfo2 else { return nil }
        let info = mallinfo2()
        return withUnsafeBytes(of: info) { fields in
            func field(_ field: MallocInfoField) -> Int {
                fields.load(fromByteOffset: field.rawValue * MemoryLayout<Int>.size, as: Int.self)
            }
            return field(.uordblks) + field(.hblkhd)
        }
        #else
        return nil
        #endif
    }

    /// The process's resident set size in bytes: resident pages (the second field of
    /// `/proc/self/statm`) times the page size. `nil` without `/proc`.
    public static func residentBytes() -> Int? {
        #if canImport(Glibc)
        guard let text = readSmallFile("/proc/self/statm") else { return nil }
        let fields = text.split(separator: UInt8(ascii: " "))
        guard fields.count >= 2, let pages = decimal(fields[1]) else { return nil }
        let pageSize = sysconf(Int32(_SC_PAGESIZE))
        guard pageSize > 0 else { return nil }
        return pages * pageSize
        #else
        return nil
        #endif
    }

    /// The number of threads in the process: the entries of `/proc/self/task`. `nil` without
    /// `/proc`.
    public static func threadCount() -> Int? {
        #if canImport(Glibc)
        guard let directory = opendir("/proc/self/task") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDotEntry = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".")
            }
            if !isDotEntry { count += 1 }
        }
        return count
        #else
        return nil
        #endif
    }

    #if canImport(Glibc)
    /// The first 256 bytes of a file (all of `/proc/self/statm`: seven decimal numbers).
    private static func readSmallFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        var filled = 0
        while filled < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            filled += n
        }
        return filled > 0 ? Array(buffer[..<filled]) : nil
    }
    #endif

    /// A non-negative decimal number, ignoring a trailing newline.
    private static func decimal(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        var sawDigit = false
        for byte in digits where byte != UInt8(ascii: "\n") {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            sawDigit = true
        }
        return sawDigit ? value : nil
    }
}
