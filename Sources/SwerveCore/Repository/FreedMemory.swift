#if canImport(Glibc)
import Glibc
#endif

/// Gives memory that has been freed back to the operating system.
///
/// Loading a model parses its file and builds the runtime's structures in many temporary
/// allocations; once they are freed, glibc keeps the pages for reuse, so a server that loaded a
/// 20 MB model would stay about 20 MB larger than it needs to (measured with the bundled
/// EfficientNet-Lite0: 118 MB resident after loading, 99 MB after a trim). The model manager
/// calls this after each version has loaded and warmed up.
enum FreedMemory {
    /// glibc's `malloc_trim`, looked up once (Swift's Glibc module leaves out malloc.h).
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    /// Returns the free pages of every malloc arena to the system (a no-op without glibc).
    static func release() {
        _ = trim?(0)
    }
}
