/// Comparison of secrets whose running time does not depend on where two values differ, so a
/// client timing its refusals learns nothing about the expected key from them.
public enum ConstantTime {
    /// Whether `given` equals `expected`, byte for byte.
    ///
    /// Every byte of `expected` is visited whatever `given` holds, and the differences are
    /// combined without branching on them; the loop's length is the expected key's, fixed for
    /// every attempt. A `given` of another length is unequal, but is still compared in full: a
    /// length says nothing about the key's bytes.
    public static func equals(_ given: some Collection<UInt8>, _ expected: some Collection<UInt8>) -> Bool {
        let given = Array(given)
        let expected = Array(expected)
        var difference: UInt8 = given.count == expected.count ? 0 : 1
        given.withUnsafeBufferPointer { given in
            expected.withUnsafeBufferPointer { expected in
                for index in 0..<expected.count {
                    // Past the end of `given` its byte reads as 0; the length check above has
                    // already made the result false then.
                    let byte = index < given.count ? given[index] : 0
                    difference |= byte ^ expected[index]
                }
            }
        }
        return difference == 0
    }

    /// Whether two strings are equal in their UTF-8 bytes.
    public static func equals(_ given: String, _ expected: String) -> Bool {
        equals(given.utf8, expected.utf8)
    }
}
