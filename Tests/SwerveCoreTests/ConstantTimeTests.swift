import Testing

@testable import SwerveCore

/// The key comparison: right for equal, different and differently long values.
struct ConstantTimeTests {
    @Test func equalValuesAreEqual() {
        #expect(ConstantTime.equals("s3cret-key", "s3cret-key"))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals([0, 255, 7] as [UInt8], [0, 255, 7] as [UInt8]))
    }

    /// A difference anywhere, in the first, a middle or the last byte, makes them unequal.
    @Test func valuesDifferingInOneByteAreUnequal() {
        let key = Array("abcdefgh".utf8)
        for index in key.indices {
            var other = key
            other[index] ^= 0x01
            #expect(!ConstantTime.equals(other, key), "byte \(index)")
        }
    }

    /// A prefix, an extension and an empty value are unequal to the key, both ways round.
    @Test func valuesOfAnotherLengthAreUnequal() {
        #expect(!ConstantTime.equals("s3cret", "s3cret-key"))
        #expect(!ConstantTime.equals("s3cret-key-and-more", "s3cret-key"))
        #expect(!ConstantTime.equals("", "s3cret-key"))
        #expect(!ConstantTime.equals("s3cret-key", ""))
        // Past the end of the given value its bytes read as 0: a key ending in NUL bytes must
        // still not match the shorter value.
        #expect(!ConstantTime.equals([1, 2] as [UInt8], [1, 2, 0, 0] as [UInt8]))
    }
}
