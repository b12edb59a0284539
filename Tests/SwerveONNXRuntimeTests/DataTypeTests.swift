import Foundation
import SwerveCore
import SwerveONNXRuntime
import Testing

/// Every KServe data type through ONNX Runtime, with models written at run time.
@Suite(.enabled(if: ORTFixture.runsPythonTests))
struct DataTypeTests {
    /// An Identity model returns each data type's tensor byte for byte, with its shape.
    @Test(arguments: DataType.allCases)
    func identityModelReturnsEveryDataTypeByteForByte(dataType: DataType) throws {
        let model = try ORTFixture.load(ORTFixture.generated("identity_\(dataType.rawValue)"))
        #expect(model.signature.inputs == [TensorSpec(name: "x", dataType: dataType, shape: [-1, -1])])
        #expect(model.signature.outputs == [TensorSpec(name: "y", dataType: dataType, shape: [-1, -1])])

        let input = Self.sample(dataType, shape: [2, 3])
        let outputs = try model.run(inputs: [NamedTensor(name: "x", tensor: input)], outputs: ["y"])
        #expect(outputs == [NamedTensor(name: "y", tensor: input)])
    }

    /// Tensors with no elements, fixed-size and BYTES, run and come back empty with their shape.
    @Test(arguments: [DataType.fp32, .bytes])
    func zeroElementTensorsRun(dataType: DataType) throws {
        let model = try ORTFixture.load(ORTFixture.generated("identity_\(dataType.rawValue)"))
        let empty = Tensor(dataType: dataType, shape: [0, 3], data: [])
        let outputs = try model.run(inputs: [NamedTensor(name: "x", tensor: empty)], outputs: ["y"])
        #expect(outputs[0].tensor == empty)
    }

    /// A rank-0 tensor (a scalar) runs and keeps its empty shape.
    @Test func scalarTensorRoundTrips() throws {
        let model = try ORTFixture.load(ORTFixture.generated("identity_scalar"))
        #expect(model.signature.inputs == [TensorSpec(name: "x", dataType: .fp32, shape: [])])
        let scalar = Tensor.of(.fp32, [], [Float(2.5)])
        let outputs = try model.run(inputs: [NamedTensor(name: "x", tensor: scalar)], outputs: ["y"])
        #expect(outputs[0].tensor == scalar)
    }

    /// A BYTES element containing a NUL byte is refused with the element's index.
    @Test func nulByteInStringIsRejected() throws {
        let model = try ORTFixture.load(ORTFixture.generated("identity_BYTES"))
        let input = Tensor.strings([1, 2], [Array("ok".utf8), [0x61, 0x00, 0x62]])
        let error = #expect(throws: SwerveError.self) {
            try model.run(inputs: [NamedTensor(name: "x", tensor: input)], outputs: ["y"])
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "input 'x' element 1 contains a NUL byte, which ONNX Runtime strings cannot hold")
    }

    /// Casting "abc" to int32 fails as modelFailed with ONNX Runtime's message, and the session keeps working.
    @Test func modelRejectingValuesIsModelFailedAndSessionSurvives() throws {
        let model = try ORTFixture.load(ORTFixture.generated("cast_string_to_int32"))
        let bad = Tensor.strings([2], [Array("12".utf8), Array("abc".utf8)])
        let error = #expect(throws: SwerveError.self) {
            try model.run(inputs: [NamedTensor(name: "x", tensor: bad)], outputs: ["y"])
        }
        #expect(error?.code == .modelFailed)
        #expect(error?.message.hasPrefix("model failed to run: ") == true)
        #expect(error?.message.contains("stoll") == true)

        let good = Tensor.strings([2], [Array("12".utf8), Array("-7".utf8)])
        let outputs = try model.run(inputs: [NamedTensor(name: "x", tensor: good)], outputs: ["y"])
        #expect(outputs[0].tensor == .of(.int32, [2], [Int32(12), -7]))
    }

    /// An input of the wrong data type, an unknown input and an unknown output are refused before running.
    @Test func mismatchedNamesAndTypesAreRejected() throws {
        let model = try ORTFixture.load(ORTFixture.generated("identity_FP32"))
        let doubles = Tensor.of(.fp64, [1, 1], [1.0])
        let floats = Tensor.of(.fp32, [1, 1], [Float(1)])
        let wrongType = #expect(throws: SwerveError.self) {
            try model.run(inputs: [NamedTensor(name: "x", tensor: doubles)], outputs: ["y"])
        }
        #expect(wrongType?.message == "input 'x' is FP64 but the model expects FP32")
        let unknownInput = #expect(throws: SwerveError.self) {
            try model.run(inputs: [NamedTensor(name: "z", tensor: floats)], outputs: ["y"])
        }
        #expect(unknownInput?.message == "the model has no input 'z'")
        let unknownOutput = #expect(throws: SwerveError.self) {
            try model.run(inputs: [NamedTensor(name: "x", tensor: floats)], outputs: ["nope"])
        }
        #expect(unknownOutput?.code == .invalidArgument)
    }

    /// Six elements of `dataType`: varied bit patterns, 0/1 for BOOL, assorted strings for BYTES.
    static func sample(_ dataType: DataType, shape: [Int]) -> Tensor {
        let count = shape.reduce(1, *)
        switch dataType {
        case .bool:
            return Tensor(dataType: .bool, shape: shape, data: (0..<count).map { UInt8($0 % 3 == 0 ? 1 : 0) })
        case .bytes:
            let elements: [[UInt8]] = [[], Array("héllo".utf8), [0xFF, 0xFE, 0x01], Array("a".utf8),
                                       Array(repeating: 0x7A, count: 300), Array("ünï ☃".utf8)]
            return .strings(shape, Array(elements.prefix(count)))
        default:
            let size = dataType.byteSize ?? 1
            let bytes = (0..<(count * size)).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            return Tensor(dataType: dataType, shape: shape, data: bytes)
        }
    }
}
