#if canImport(Glibc)
import Glibc
#endif

/// What the process's allocator (glibc's malloc) keeps for reuse and what it gives back.
///
/// A server allocates buffers of a few hundred kilobytes to a few megabytes for every request
/// (a decoded photo, a 224×224 FP32 image tensor is 602 KB, a batch of them megabytes) and frees
/// them a moment later. glibc's defaults hand such blocks back to the kernel (unmapping them,
/// or trimming the top of the heap) and take them again for the next request, and every page of
/// a fresh block costs a page fault: decoding and preprocessing the sample images in turn spent
/// about 11% of its time in the kernel. ``keepRequestBuffers()`` keeps them instead;
/// ``releaseFreedMemory()`` still gives everything free back after a model has loaded.
///
/// Both are no-ops without glibc. Swift's Glibc module leaves out malloc.h, so the functions are
/// looked up by name.
public enum Malloc {
    /// Blocks smaller than this come from malloc's heaps, not from a mapping of their own.
    public static let mmapThreshold = 4 << 20
    /// Free memory at the top of a heap is given back to the kernel only beyond this much.
    public static let trimThreshold = 16 << 20

    // mallopt(3) parameters, from glibc's malloc.h.
    private static let trimThresholdParameter: Int32 = -1
    private static let mmapThresholdParameter: Int32 = -3
    private static let arenaMaxParameter: Int32 = -8

    private static let mallopt: (@convention(c) (Int32, Int32) -> Int32)? = function("mallopt")
    private static let trim: (@convention(c) (Int) -> Int32)? = function("malloc_trim")

    private static func function<F>(_ name: String) -> F? {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, name) else { return nil }
        return unsafeBitCast(symbol, to: F.self)
        #else
        return nil
        #endif
    }

    /// Keeps freed request-sized blocks (below ``mmapThreshold``) in the heaps for the next
    /// request, and trims a heap only when more than ``trimThreshold`` is free at its top. Call
    /// once at start-up. Also ends glibc's own adjustment of the
    /// mmap threshold, so that the behaviour does not depend on what was freed first.
    ///
    /// Also caps malloc's arenas at the CPU budget (at least 2): glibc's default of eight per
    /// core spreads a burst's freed buffers over arenas that each keep their own free pages; the
    /// classifier after 128 JPEG clients went back to 131 MB with the default, 106 MB with two
    /// arenas (idle: 95 MB), at the same throughput.
    public static func keepRequestBuffers(cpuBudget: Int = CPUBudget.available()) {
        _ = mallopt?(mmapThresholdParameter, Int32(mmapThreshold))
        _ = mallopt?(trimThresholdParameter, Int32(trimThreshold))
        _ = mallopt?(arenaMaxParameter, Int32(clamping: max(2, cpuBudget)))
    }

    /// Returns the free pages of every malloc arena to the system.
    ///
    /// Loading a model parses its file and builds the runtime's structures in many temporary
    /// allocations; once they are freed, glibc keeps the pages for reuse, so a server that loaded
    /// a 20 MB model would stay about 20 MB larger than it needs to (measured with the bundled
    /// EfficientNet-Lite0: 118 MB resident after loading, 99 MB after a trim). The model manager
    /// calls this after each version has loaded and warmed up.
    public static func releaseFreedMemory() {
        _ = trim?(0)
    }
}
