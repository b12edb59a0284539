@testable import SwerveCore
import Testing

struct TensorTests {
    /// A buffer whose size matches shape × element size is accepted.
    @Test func matchingBufferIsAccepted() throws {
        let tensor = try Tensor.validated(name: "x", dataType: .fp32, shape: [2, 2], data: [UInt8](repeating: 0, count: 16))
        #expect(tensor.elementCount == 4)
    }

    /// A buffer of the wrong size is refused with both sizes in the message.
    @Test func mismatchedBufferIsRefused() {
        let error = #expect(throws: SwerveError.self) {
            try Tensor.validated(name: "x", dataType: .int32, shape: [16], data: [UInt8](repeating: 0, count: 60))
        }
        #expect(error?.message.contains("60 bytes") == true)
        #expect(error?.message.contains("64") == true)
    }

    /// Shapes whose element count overflows or that have negative dimensions never trap.
    @Test func hostileShapesAreRefused() {
        #expect(throws: SwerveError.self) { try Shape.elementCount([Int.max, 16], tensorName: "x") }
        #expect(throws: SwerveError.self) { try Shape.elementCount([-1, 4], tensorName: "x") }
        #expect(throws: SwerveError.self) {
            try Tensor.validated(name: "x", dataType: .fp64, shape: [1 << 61], data: [])
        }
        #expect((try? Shape.elementCount([2_147_483_648, 16], tensorName: "x")) == 34_359_738_368)
    }

    /// BYTES buffers round-trip through the length-prefixed encoding, including empty elements.
    @Test func bytesRoundTrip() throws {
        let elements: [[UInt8]] = [Array("cat".utf8), [], Array("naïve".utf8)]
        let encoded = BytesCodec.encode(elements)
        #expect(encoded.count == 3 * 4 + 3 + 0 + 6)
        #expect(try BytesCodec.decode(encoded, tensorName: "t").map(Array.init) == elements)
        #expect(try Tensor.validated(name: "t", dataType: .bytes, shape: [3], data: encoded).elementCount == 3)
    }

    /// Truncated prefixes and lengths past the end are refused, never read out of bounds.
    @Test func truncatedBytesAreRefused() {
        #expect(throws: SwerveError.self) { try BytesCodec.countElements(in: [3, 0, 0], tensorName: "t") }
        #expect(throws: SwerveError.self) { try BytesCodec.countElements(in: [255, 255, 255, 255, 1], tensorName: "t") }
        #expect(throws: SwerveError.self) {
            try Tensor.validated(name: "t", dataType: .bytes, shape: [2], data: BytesCodec.encode([[1]]))
        }
    }

    /// KServe and Triton config type names map both ways.
    @Test func dataTypeNamesMap() {
        for type in DataType.allCases {
            #expect(DataType(configName: type.configName) == type)
            #expect(DataType(configType: type.configType) == type)
        }
        #expect(DataType.bytes.configName == "TYPE_STRING")
        #expect(DataType.fp16.byteSize == 2)
        #expect(DataType.bytes.byteSize == nil)
    }

    /// The CPU budget honours affinity lists and cgroup quotas.
    @Test func cpuBudgetParsesLimits() {
        #expect(CPUBudget.available() >= 1)
        #expect(CPUBudget.parseCPUList("0-3,8,10-11") == 7)
        #expect(CPUBudget.parseCPUList("0") == 1)
        #expect(CPUBudget.parseQuota("200000 100000") == 2)
        #expect(CPUBudget.parseQuota("150000 100000") == 2)
        #expect(CPUBudget.parseQuota("max 100000") == nil)
    }
}
