import Synchronization

/// Gives freed memory back to the system once the server goes quiet after a load.
///
/// Under load glibc keeps freed request buffers for reuse (see ``Malloc``), in as many arenas as
/// threads served requests; after 256 JPEG clients the server held four times its idle size long
/// after they had gone. Every request notes itself here (``noteActivity()``); ``run(every:)``
/// looks every interval and, at the first look that finds no request since the one before after
/// some activity, returns the free memory with ``Malloc/releaseFreedMemory()``. An idle server
/// is not trimmed again and again, and a busy one keeps its buffers.
public final class IdleMemoryRelease: Sendable {
    /// The process's monitor, noted by every frontend.
    public static let shared = IdleMemoryRelease()

    private let activity = Atomic<UInt64>(0)

    /// Creates a monitor (tests make their own).
    public init() {}

    /// Records one request.
    @inline(__always)
    public func noteActivity() {
        activity.wrappingAdd(1, ordering: .relaxed)
    }

    /// The decision at each look: a pure state machine of the activity counter.
    public struct Decision: Sendable, Equatable {
        private var lastSeen: UInt64
        private var busySinceRelease = false

        /// Starts from the counter's current value.
        public init(activity: UInt64) {
            lastSeen = activity
        }

        /// Whether to release memory now, given the counter at this look.
        public mutating func shouldRelease(activity: UInt64) -> Bool {
            if activity != lastSeen {
                lastSeen = activity
                busySinceRelease = true
                return false
            }
            guard busySinceRelease else { return false }
            busySinceRelease = false
            return true
        }
    }

    /// The counter's value now.
    public var currentActivity: UInt64 { activity.load(ordering: .relaxed) }

    /// Looks every `interval` until cancelled, releasing memory when a busy spell has ended.
    public func run(every interval: Duration = .seconds(2), release: @Sendable () -> Void = { Malloc.releaseFreedMemory() }) async {
        var decision = Decision(activity: currentActivity)
        while true {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return  // cancelled: the server is stopping
            }
            if decision.shouldRelease(activity: currentActivity) { release() }
        }
    }
}
