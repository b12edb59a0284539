import Foundation
import SwerveCore
import Testing

@testable import SwerveGRPC

/// Typed `InferTensorContents` fields to tensor bytes and back, for every datatype.
struct TypedContentsTests {
    /// Little-endian bytes of fixed-width integers.
    func bytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
    }

    /// One example per datatype that has a typed field: the contents and the bytes they encode.
    static let examples: [(DataType, Inference_InferTensorContents, [UInt8])] = {
        func le<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }
        return [
            (.bool, .with { $0.boolContents = [true, false, true, true] }, [1, 0, 1, 1]),
            (.int8, .with { $0.intContents = [-128, -1, 0, 127] }, le([Int8(-128), -1, 0, 127])),
            (.int16, .with { $0.intContents = [-32768, -2, 3, 32767] }, le([Int16(-32768), -2, 3, 32767])),
            (.int32, .with { $0.intContents = [Int32.min, -5, 6, Int32.max] }, le([Int32.min, -5, 6, Int32.max])),
            (.int64, .with { $0.int64Contents = [Int64.min, -7, 8, Int64.max] }, le([Int64.min, -7, 8, Int64.max])),
            (.uint8, .with { $0.uintContents = [0, 1, 200, 255] }, [0, 1, 200, 255]),
            (.uint16, .with { $0.uintContents = [0, 1, 40000, 65535] }, le([UInt16(0), 1, 40000, 65535])),
            (.uint32, .with { $0.uintContents = [0, 1, 3_000_000_000, UInt32.max] }, le([UInt32(0), 1, 3_000_000_000, UInt32.max])),
            (.uint64, .with { $0.uint64Contents = [0, 1, 1 << 63, UInt64.max] }, le([UInt64(0), 1, 1 << 63, UInt64.max])),
            (.fp32, .with { $0.fp32Contents = [1.5, -2.25, 0, .infinity] }, le([Float(1.5), -2.25, 0, .infinity].map(\.bitPattern))),
            (.fp64, .with { $0.fp64Contents = [1.5, -2.25, 1e300, -0.0] }, le([1.5, -2.25, 1e300, -0.0].map(\.bitPattern))),
            (.bytes, .with { $0.bytesContents = [Data("ab".utf8), Data(), Data([0, 255]), Data("é".utf8)] },
             BytesCodec.encode([Array("ab".utf8), [], [0, 255], Array("é".utf8)])),
        ]
    }()

    /// Every datatype with a typed field decodes to the little-endian bytes of its elements.
    @Test(arguments: examples.map(\.0))
    func typedContentsBecomeTensorBytes(_ dataType: DataType) throws {
        let (_, contents, expected) = try #require(Self.examples.first { $0.0 == dataType })
        let tensor = try TypedContents.tensor(from: contents, name: "x", dataType: dataType, shape: [2, 2])
        #expect(tensor.dataType == dataType)
        #expect(tensor.shape == [2, 2])
        #expect(tensor.data == expected)
    }

    /// Every datatype with a typed field encodes back to the contents it came from.
    @Test(arguments: examples.map(\.0))
    func tensorBytesBecomeTypedContents(_ dataType: DataType) throws {
        let (_, contents, bytes) = try #require(Self.examples.first { $0.0 == dataType })
        let back = try TypedContents.contents(of: Tensor(dataType: dataType, shape: [4], data: bytes), name: "y")
        if dataType == .fp64 {  // -0.0 == 0.0, so compare bit patterns
            #expect(back.fp64Contents.map(\.bitPattern) == contents.fp64Contents.map(\.bitPattern))
        } else {
            #expect(back == contents)
        }
    }

    /// FP16 and BF16 have no typed field, so their data must come raw.
    @Test(arguments: [DataType.fp16, .bf16])
    func halfPrecisionNeedsRawContents(_ dataType: DataType) throws {
        #expect(TypedContents.fieldName(for: dataType) == nil)
        let error = try #require(throws: SwerveError.self) {
            try TypedContents.tensor(from: .with { $0.fp32Contents = [1] }, name: "x", dataType: dataType, shape: [1])
        }
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("raw_input_contents"))
    }

    /// Elements in the field of another datatype are refused, naming both fields.
    @Test func elementsInTheWrongFieldAreRefused() throws {
        let error = try #require(throws: SwerveError.self) {
            try TypedContents.tensor(from: .with { $0.intContents = [1, 2] }, name: "x", dataType: .fp32, shape: [2])
        }
        #expect(error.code == .invalidArgument)
        #expect(error.message.contains("fp32_contents") && error.message.contains("int_contents"))
    }

    /// An element count that does not match the shape is refused.
    @Test func elementCountMustMatchTheShape() throws {
        let error = try #require(throws: SwerveError.self) {
            try TypedContents.tensor(from: .with { $0.fp32Contents = [1, 2, 3] }, name: "x", dataType: .fp32, shape: [2, 2])
        }
        #expect(error.message.contains("3 elements") && error.message.contains("needs 4"))
    }

    /// Values that do not fit a narrow integer type are refused instead of truncated.
    @Test func outOfRangeNarrowIntegersAreRefused() throws {
        let error = try #require(throws: SwerveError.self) {
            try TypedContents.tensor(from: .with { $0.intContents = [1, 128] }, name: "x", dataType: .int8, shape: [2])
        }
        #expect(error.message.contains("int_contents[1] = 128"))
        #expect(throws: SwerveError.self) {
            try TypedContents.tensor(from: .with { $0.uintContents = [70000] }, name: "x", dataType: .uint16, shape: [1])
        }
    }

    /// An empty tensor needs no elements at all.
    @Test func emptyTensorsNeedNoContents() throws {
        let tensor = try TypedContents.tensor(from: .init(), name: "x", dataType: .fp32, shape: [0, 4])
        #expect(tensor.data.isEmpty)
    }
}
