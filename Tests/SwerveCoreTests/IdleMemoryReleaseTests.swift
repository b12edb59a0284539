import SwerveCore
import Testing

/// When freed memory goes back to the system: once, at the first quiet look after activity.
struct IdleMemoryReleaseTests {
    @Test func releasesOnceAfterABusySpellEnds() {
        var decision = IdleMemoryRelease.Decision(activity: 0)
        // Activity counter at each look, and whether that look releases.
        let looks: [(UInt64, Bool)] = [
            (0, false),  // idle from the start: nothing to give back
            (5, false),  // busy
            (9, false),  // still busy
            (9, true),  // quiet: release
            (9, false),  // still quiet: not again
            (10, false),
            (10, true),
        ]
        let decided = looks.map { decision.shouldRelease(activity: $0.0) }
        #expect(decided == looks.map(\.1))
    }

    @Test func notingActivityMovesTheCounter() {
        let monitor = IdleMemoryRelease()
        let before = monitor.currentActivity
        monitor.noteActivity()
        monitor.noteActivity()
        #expect(monitor.currentActivity == before + 2)
    }
}
