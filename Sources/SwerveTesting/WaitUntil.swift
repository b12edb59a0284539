/// A state a test waited for did not come about in time.
public struct WaitTimedOut: Error, CustomStringConvertible {
    /// What the test waited for.
    public var what: String
    /// How long it waited.
    public var timeout: Duration

    public var description: String { "timed out after \(timeout) waiting until \(what)" }
}

/// Waits until `condition` holds, checking it every millisecond: for states other threads bring
/// about (a model run has started, N requests are queued), never as a stand-in for a clock.
/// - Throws: ``WaitTimedOut`` naming `what` when `timeout` passes first, which fails the test.
public func waitUntil(
    _ what: @autoclosure () -> String, timeout: Duration = .seconds(10), _ condition: () throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try !condition() {
        guard ContinuousClock.now < deadline else { throw WaitTimedOut(what: what(), timeout: timeout) }
        try await Task.sleep(for: .milliseconds(1))
    }
}
