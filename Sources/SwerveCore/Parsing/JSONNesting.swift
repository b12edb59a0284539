/// Bounds how deeply a JSON text nests before any JSON parser sees it.
///
/// Foundation's JSON scanner traps (the process exits) on a body whose 513th nested opener is its
/// last byte, and any recursive parser can be driven deep by `[[[[…`. Every JSON body a listener
/// reads passes ``check(_:limit:)`` first: one pass over the bytes, no allocation, strings and
/// their escapes skipped (by ``JSONStringTracker``), so brackets inside strings do not count.
public enum JSONNesting {
    /// The deepest nesting of arrays and objects accepted: far above any request's (a rank-8
    /// tensor's nested `data` is 10 deep) and far below the depth at which parsers fail.
    public static let limit = 100

    /// - Throws: `invalidArgument` when arrays and objects nest deeper than `limit`.
    ///
    /// Inlinable, so each caller gets a loop specialized for its collection: called generically
    /// across modules, the scan of a 170-byte header cost about 100,000 instructions (callgrind)
    /// in protocol-witness calls for each byte.
    @inlinable
    public static func check(_ bytes: some Collection<UInt8>, limit: Int = JSONNesting.limit) throws {
        var depth = 0
        var strings = JSONStringTracker()
        for byte in bytes where !strings.isInString(byte) {
            switch byte {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                guard depth <= limit else { throw tooDeep(limit) }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            default:
                break
            }
        }
    }

    @usableFromInline
    static func tooDeep(_ limit: Int) -> SwerveError {
        SwerveError.invalid("invalid JSON: arrays and objects nest more than \(limit) deep")
    }
}
