import SwerveCore
import Testing

struct ClassificationTests {
    func fp32(_ values: [Float], shape: [Int]) -> Tensor {
        Tensor(dataType: .fp32, shape: shape, data: values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
    }

    func strings(_ tensor: Tensor) throws -> [String] {
        try BytesCodec.decode(tensor.data, tensorName: "t").map { String(decoding: $0, as: UTF8.self) }
    }

    /// Top-K entries come highest first as "value:index:label" with six decimals, like Triton.
    @Test func topKWithLabels() throws {
        let result = try Classification.classify(
            fp32([0.1, 15.34623, 2, 7], shape: [4]), name: "y", count: 2, batched: false, labels: ["a", "b", "c", "d"])
        #expect(result.dataType == .bytes)
        #expect(result.shape == [2])
        #expect(try strings(result) == ["15.346230:1:b", "7.000000:3:d"])
    }

    /// Batched outputs are classified per batch element, without labels when none are known.
    @Test func batchedWithoutLabels() throws {
        let result = try Classification.classify(fp32([1, 3, 2, 9, 8, 7], shape: [2, 3]), name: "y", count: 5, batched: true, labels: nil)
        #expect(result.shape == [2, 3])
        #expect(try strings(result) == ["3.000000:1", "2.000000:2", "1.000000:0", "9.000000:0", "8.000000:1", "7.000000:2"])
    }

    /// Integer outputs print as integers; a count below one is refused.
    @Test func integersAndBadCounts() throws {
        let ints = Tensor(dataType: .int32, shape: [3], data: [Int32(4), -1, 9].flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) })
        #expect(try strings(try Classification.classify(ints, name: "y", count: 1, batched: false, labels: nil)) == ["9:2"])
        #expect(throws: SwerveError.self) { try Classification.classify(ints, name: "y", count: 0, batched: false, labels: nil) }
    }
}
