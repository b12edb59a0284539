import SwerveCore
import Testing

@testable import SwerveHTTP

/// Reading TF Serving `:predict` bodies into tensors.
struct TFServingPredictRequestTests {
    func io(_ dataType: DataType) -> ModelIO {
        ModelIO(
            maxBatchSize: 0, inputs: [TensorSpec(name: "x", dataType: dataType, shape: [-1, 2])],
            outputs: [TensorSpec(name: "y", dataType: dataType, shape: [-1, 2])])
    }

    func values<T: FixedWidthInteger>(_ tensor: Tensor, as type: T.Type) -> [T] {
        tensor.data.withUnsafeBytes { Array($0.bindMemory(to: T.self)) }.map { T(littleEndian: $0) }
    }

    /// 64-bit integers keep every digit, also past 2^53 where a Double would round them.
    @Test func sixtyFourBitIntegersKeepEveryDigit() throws {
        let body = Array(#"{"instances": [[9007199254740993, -9223372036854775808], [9223372036854775807, 3.0]]}"#.utf8)
        let parsed = try TFServingPredictRequest.parse(body, io: io(.int64), imageInput: nil)
        #expect(values(parsed.inputs[0].tensor, as: Int64.self) == [9_007_199_254_740_993, .min, .max, 3])
        let unsigned = Array(#"{"instances": [[18446744073709551615, 9007199254740993]]}"#.utf8)
        let parsedUnsigned = try TFServingPredictRequest.parse(unsigned, io: io(.uint64), imageInput: nil)
        #expect(values(parsedUnsigned.inputs[0].tensor, as: UInt64.self) == [.max, 9_007_199_254_740_993])
    }

    /// A fraction, or a value out of the type's range, is refused.
    @Test func fractionsAndOutOfRangeIntegersAreRefused() {
        for body in [#"{"instances": [[1.5, 2]]}"#, #"{"instances": [[9223372036854775808, 1]]}"#] {
            let error = #expect(throws: SwerveError.self) {
                try TFServingPredictRequest.parse(Array(body.utf8), io: io(.int64), imageInput: nil)
            }
            #expect(error?.code == .invalidArgument, "\(body)")
        }
    }
}
