import Foundation
import SwerveCore
import Testing

@testable import SwerveHTTP

/// The JSON body of TF Serving's `:predict` answer: the row and columnar formats, byte for byte,
/// and work that grows linearly with the rows.
struct TFServingPredictResponseTests {
    /// A tensor of fixed-size little-endian elements.
    func tensor<T>(_ dataType: DataType, _ shape: [Int], _ values: [T]) -> Tensor {
        Tensor(dataType: dataType, shape: shape, data: values.withUnsafeBytes { Array($0) })
    }

    func response(_ outputs: [(String, Tensor)]) -> InferenceResponse {
        InferenceResponse(
            modelName: "m", modelVersion: 1, id: nil, outputs: outputs.map { NamedTensor(name: $0.0, tensor: $0.1) })
    }

    func text(_ response: InferenceResponse, rowFormat: Bool) throws -> String {
        String(decoding: try TFServingPredictResponse.encode(response, rowFormat: rowFormat), as: UTF8.self)
    }

    /// Outputs of several types: floats with TF Serving's non-finite tokens, strings that need
    /// escaping, booleans, fp16, bf16, a 0-d output and unsigned and signed integers at their limits.
    var mixed: InferenceResponse {
        response([
            ("scores", tensor(.fp32, [2, 2], [Float(0.5), .nan, -.infinity, 2] as [Float])),
            ("label", Tensor(dataType: .bytes, shape: [2], data: BytesCodec.encode([Array(#"a"b"#.utf8), Array("héllo".utf8)]))),
            ("flag", tensor(.bool, [2, 1], [UInt8(1), 0])),
            ("half", tensor(.fp16, [2], [Float16(1.5).bitPattern, Float16(-0.25).bitPattern])),
            ("brain", tensor(.bf16, [2], [UInt16(0x4000), 0x7F80])),
            ("count", tensor(.int64, [], [Int64(-7)])),
            ("big", tensor(.uint64, [2], [UInt64.max, 0])),
            ("small", tensor(.int8, [2], [Int8.min, 3])),
            ("wide", tensor(.fp64, [2], [0.1, -1e300])),
        ])
    }

    /// The row format writes one object per row keyed by output name, in output order; a 0-d
    /// output is repeated in every row.
    @Test func rowFormatOfSeveralOutputsIsExactJSON() throws {
        let expected = #"{"predictions":["#
            + #"{"scores":[0.5,NaN],"label":"a\"b","flag":[true],"half":1.5,"brain":2.0,"count":-7,"big":18446744073709551615,"small":-128,"wide":0.1},"#
            + #"{"scores":[-Infinity,2.0],"label":"héllo","flag":[false],"half":-0.25,"brain":Infinity,"count":-7,"big":0,"small":3,"wide":-1e+300}"#
            + "]}"
        #expect(try text(mixed, rowFormat: true) == expected)
    }

    /// The columnar format writes each whole tensor as nested lists under its name.
    @Test func columnarFormatOfSeveralOutputsIsExactJSON() throws {
        let expected = #"{"outputs":{"scores":[[0.5,NaN],[-Infinity,2.0]],"label":["a\"b","héllo"],"flag":[[true],[false]],"#
            + #""half":[1.5,-0.25],"brain":[2.0,Infinity],"count":-7,"big":[18446744073709551615,0],"small":[-128,3],"wide":[0.1,-1e+300]}}"#
        #expect(try text(mixed, rowFormat: false) == expected)
    }

    /// One output is written bare: its rows in the row format, its tensor in the columnar format.
    @Test func oneOutputIsWrittenBare() throws {
        let matrix = response([("y", tensor(.int32, [2, 2, 1], [Int32(1), -2, 3, Int32.max]))])
        #expect(try text(matrix, rowFormat: true) == #"{"predictions":[[[1],[-2]],[[3],[2147483647]]]}"#)
        #expect(try text(matrix, rowFormat: false) == #"{"outputs":[[[1],[-2]],[[3],[2147483647]]]}"#)
        let vector = response([("y", tensor(.uint16, [3], [UInt16(0), 1, 65535]))])
        #expect(try text(vector, rowFormat: true) == #"{"predictions":[0,1,65535]}"#)
        let scalar = response([("y", tensor(.fp32, [], [Float(3)]))])
        #expect(try text(scalar, rowFormat: false) == #"{"outputs":3.0}"#)
        // A 0-d first output has no rows.
        #expect(try text(scalar, rowFormat: true) == #"{"predictions":[]}"#)
        let empty = response([("y", tensor(.fp32, [0, 4], [Float]()))])
        #expect(try text(empty, rowFormat: true) == #"{"predictions":[]}"#)
        #expect(try text(empty, rowFormat: false) == #"{"outputs":[]}"#)
    }

    /// The rows are the first output's: an output with more rows is written up to that count, one
    /// with fewer is refused, and an output whose buffer is short is our error, not a crash.
    @Test func outputsWithOtherRowCounts() throws {
        let a = tensor(.int32, [2], [Int32(1), 2])
        let longer = tensor(.int32, [3], [Int32(10), 20, 30])
        #expect(try text(response([("a", a), ("b", longer)]), rowFormat: true) == #"{"predictions":[{"a":1,"b":10},{"a":2,"b":20}]}"#)
        let error = #expect(throws: SwerveError.self) {
            try TFServingPredictResponse.encode(response([("b", longer), ("a", a)]), rowFormat: true)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("Tensor name: a has inconsistent batch size: 2 expecting: 3") == true)
        let short = Tensor(dataType: .fp32, shape: [2, 4], data: [UInt8](repeating: 0, count: 28))
        let shortError = #expect(throws: SwerveError.self) {
            try TFServingPredictResponse.encode(response([("y", short)]), rowFormat: false)
        }
        #expect(shortError?.code == .internal)
        let strings = Tensor(dataType: .bytes, shape: [3], data: BytesCodec.encode([[UInt8(65)], [66]]))
        #expect(throws: SwerveError.self) { try TFServingPredictResponse.encode(response([("s", strings)]), rowFormat: true) }
    }

    /// Writing N rows of 4 elements renders exactly N * 4 elements: each row is taken from the
    /// tensor where it lies, never by rendering the whole tensor again, so the work is linear in N.
    @Test(arguments: [1_000, 10_000])
    func rowFormatRendersEachElementOnce(rows: Int) throws {
        let values = (0..<(rows * 4)).map { Float($0) }
        let single = response([("y", tensor(.fp32, [rows, 4], values))])
        var rendered = 0
        let bytes = try TFServingPredictResponse.encode(single, rowFormat: true, rendered: &rendered)
        #expect(rendered == rows * 4)
        let body = try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let predictions = try #require(body["predictions"] as? [[Double]])
        #expect(predictions.count == rows)
        let lastRow: [Double] = (0..<4).map { Double((rows - 1) * 4 + $0) }
        #expect(predictions.last == lastRow)

        // Two outputs: every row of each is rendered once.
        let labels = Tensor(dataType: .bytes, shape: [rows], data: BytesCodec.encode((0..<rows).map { Array(String($0).utf8) }))
        var renderedBoth = 0
        _ = try TFServingPredictResponse.encode(
            response([("y", tensor(.fp32, [rows, 4], values)), ("label", labels)]), rowFormat: true, rendered: &renderedBoth)
        #expect(renderedBoth == rows * 5)
    }
}
