import Foundation
import SwerveCore
import Testing

@testable import SwerveHTTP

/// `InferRequestJSON.parse` reads requests with its own tokenizer; `JSONDecoder` read them before.
/// Each text of a corpus of tricky requests must give the same request, or the same error message,
/// through both: `ReferenceRequest` below is the `Decodable` reading the server used.
struct InferRequestJSONTests {
    /// The request as a comparable text: every field, parameters sorted, data as bytes.
    static func summary(
        id: String?, parameters: [String: ParameterJSON]?,
        inputs: [(String, DataType, [Int], [String: ParameterJSON]?, [UInt8]?)], outputs: [(String, [String: ParameterJSON]?)]?
    ) -> String {
        func params(_ p: [String: ParameterJSON]?) -> String {
            p.map { $0.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.value)" }.joined(separator: ",") } ?? "nil"
        }
        let ins = inputs.map { "\($0.0):\($0.1.rawValue):\($0.2):\(params($0.3)):\($0.4.map { "\($0)" } ?? "nil")" }
        let outs = outputs.map { $0.map { "\($0.0):\(params($0.1))" }.joined(separator: ";") } ?? "nil"
        return "id=\(id ?? "nil") params=\(params(parameters)) inputs=[\(ins.joined(separator: ";"))] outputs=\(outs)"
    }

    static func viaParser(_ text: [UInt8]) -> String {
        do {
            let r = try InferRequestJSON.parse(text[...])
            return summary(
                id: r.id, parameters: r.parameters, inputs: r.inputs.map { ($0.name, $0.dataType, $0.shape, $0.parameters, $0.data) },
                outputs: r.outputs.map { $0.map { ($0.name, $0.parameters) } })
        } catch {
            return "error: \(ErrorResponse.describe(error).message)"
        }
    }

    static func viaJSONDecoder(_ text: [UInt8]) -> String {
        do {
            let r = try ReferenceRequest.parse(text)
            func p(_ p: [String: ReferenceParameter]?) -> [String: ParameterJSON]? { p?.mapValues { ParameterJSON(value: $0.value) } }
            return summary(
                id: r.id, parameters: p(r.parameters), inputs: r.inputs.map { ($0.name, $0.dataType, $0.shape, p($0.parameters), $0.data) },
                outputs: r.outputs.map { $0.map { ($0.name, p($0.parameters)) } })
        } catch {
            return "error: \(ErrorResponse.describe(error).message)"
        }
    }

    static let input = #""name":"x","datatype":"FP32","shape":[2]"#

    static let corpus: [String] = [
        // Well-formed requests.
        #"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1.5,-2]}]}"#,
        #"{"id":"r1","parameters":{"binary_data_output":true,"n":3,"big":18446744073709551615,"f":0.25,"s":"t"},"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}"#,
        #"{"inputs":[{"name":"x","shape":[2,2],"datatype":"INT64","data":[[1,2],[3,-9223372036854775808]]}]}"#,
        #"{"inputs":[{"name":"x","shape":[3],"datatype":"UINT64","data":[18446744073709551615,1e19,-0]}]}"#,
        #"{"inputs":[{"name":"x","shape":[4],"datatype":"INT32","data":[1.0,1e2,1.5e3,-2E0]}]}"#,
        #"{"inputs":[{"name":"x","shape":[2],"datatype":"INT8","data":[-128,127]}]}"#,
        #"{"inputs":[{"name":"x","shape":[2],"datatype":"UINT8","data":[0,255]}]}"#,
        #"{"inputs":[{"name":"x","shape":[2],"datatype":"INT16","data":[-32768,32767]}]}"#,
        #"{"inputs":[{"name":"x","shape":[2],"datatype":"UINT16","data":[0,65535]}]}"#,
        #"{"inputs":[{"name":"x","shape":[2],"datatype":"UINT32","data":[0,4294967295]}]}"#,
        #"{"inputs":[{"name":"x","shape":[9],"datatype":"FP32","data":[0.1,1.00000001,16777217,3.4028235e38,1e-45,-0.0,0,123.456,0.30000001192092896]}]}"#,
        #"{"inputs":[{"name":"x","shape":[6],"datatype":"FP64","data":[0.1,4.9e-324,1e308,123456789012345678901234567890,-1.7976931348623157e308,2.2250738585072014e-308]}]}"#,
        #"{"inputs":[{"name":"x","shape":[3],"datatype":"FP16","data":[0.1,65504,-1]}]}"#,
        #"{"inputs":[{"name":"x","shape":[3],"datatype":"BF16","data":[0.1,3e38,-1]}]}"#,
        #"{"inputs":[{"name":"x","shape":[2],"datatype":"BOOL","data":[true,false]}]}"#,
        #"{"inputs":[{"name":"x","shape":[3],"datatype":"BYTES","data":["a\"b\\c\/\b\f\n\r\t","\u00e9\uD83D\uDE00\u0000","é😀"]}]}"#,
        #"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":5}]}"#,
        #"{"inputs":[{"name":"x","shape":[2,1],"datatype":"FP32","data":[[1],[[2]],[]]}]}"#,
        #"{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1],"extra":{"z":[1,-0.5e-3,"\uDBFF\uDFFF"]}}],"other":null}"#,
        "\u{FEFF} \t\r\n{\"inputs\":[] , }\n ",
        #"{"inputs":[{"name":"x","shape":[1,],"datatype":"FP32","data":[1,],},],}"#,
        #"{"id":"a","id":"b","inputs":[],"inputs":[{"name":"x"}],"parameters":{"k":1,"k":"two"}}"#,
        #"{"id":null,"parameters":null,"outputs":null,"inputs":[]}"#,
        #"{"parameters":{"5":1,"-1":2,"a.b":3},"inputs":[]}"#,
        #"{"inputs":[{"name":"\u0078","shape":[2],"datatype":"\u0046P32","data":[1,2]}]}"#,
        #"{"\u0069nputs":[]}"#,
        // Type errors, in JSONDecoder's order and words.
        "[1,2,3]", "null", "1", #""s""#, "{}",
        #"{"id":5,"inputs":7}"#, #"{"inputs":7}"#, #"{"inputs":null}"#, #"{"inputs":[null]}"#, #"{"inputs":[1]}"#,
        #"{"inputs":[{}]}"#, #"{"inputs":[{"name":null}]}"#, #"{"inputs":[{"name":1}]}"#, #"{"inputs":[{"name":"x"}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP99","shape":"no"}]}"#, #"{"inputs":[{"name":"x","datatype":"FP32"}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":{}}]}"#, #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1,"2"]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1,null]}]}"#, #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1.5]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1e400]}]}"#, #"{"inputs":[{"name":"x","datatype":"FP32","shape":[99999999999999999999]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[-1]}]}"#, #"{"inputs":[{"name":"x","datatype":"FP32","shape":[2147483648,4294967296,8]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[2]}]}"#, #"{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":null}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,"a"]}]}"#, #"{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,null]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[[1],[{"a":1}]]}]}"#, #"{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,1e39]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,1e-50]}]}"#, #"{"inputs":[{"name":"x","datatype":"FP64","shape":[2],"data":[1,1e-400]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP64","shape":[2],"data":[1,1e309]}]}"#, #"{"inputs":[{"name":"x","datatype":"UINT8","shape":[2],"data":[1,256]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"UINT8","shape":[2],"data":[1,-1]}]}"#, #"{"inputs":[{"name":"x","datatype":"INT32","shape":[2],"data":[1,1.5]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"INT32","shape":[2],"data":[1,true]}]}"#, #"{"inputs":[{"name":"x","datatype":"BOOL","shape":[2],"data":[true,1]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"BOOL","shape":[2],"data":[true,null]}]}"#, #"{"inputs":[{"name":"x","datatype":"BYTES","shape":[2],"data":["a",1]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[1,2]}]}"#, #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":null,"parameters":{"binary_data_size":4}}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"shared_memory_region":"r"}}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":[]}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"p":null}}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"p":[1,2]}}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"p":{"q":1}}}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"p":1e400}}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"p":[1,1e400]}}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"p":{"q":{"r":1e400}}}}]}"#,
        #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"7":null}}]}"#,
        #"{"parameters":{"binary_data_output":"yes"},"inputs":[],"outputs":[{"name":"y","parameters":{"binary_data":[]}}]}"#,
        #"{"inputs":[],"outputs":[{}]}"#, #"{"inputs":[],"outputs":[null]}"#, #"{"inputs":[],"outputs":{}}"#, #"{"inputs":[],"outputs":[{"name":2}]}"#,
        #"{"id":[],"inputs":[]}"#, #"{"parameters":[],"inputs":[]}"#, #"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":"#
            + String(repeating: "[", count: 66) + "1" + String(repeating: "]", count: 66) + "}]}",
        // Not JSON.
        "", " ", "{", "}", "{}x", "{} {}", "{\"inputs\":[]}\u{0}", "\u{0B}{}", "{,}", "{\"inputs\":[,]}", "{\"inputs\":[1,,]}",
        "{\"inputs\":[]„}", "{'inputs':[]}", "{inputs:[]}", "{\"inputs\" []}", "{\"inputs\":[] \"id\":\"a\"}",
        "{\"inputs\":[],\"id\":\"a\\x\"}", "{\"inputs\":[],\"id\":\"\\u12G4\"}", "{\"inputs\":[],\"id\":\"\\ud800\"}",
        "{\"inputs\":[],\"id\":\"\\udc00\"}", "{\"inputs\":[],\"id\":\"\\uD800\\uD800\"}", "{\"inputs\":[],\"id\":\"a\tb\"}",
        "{\"inputs\":[],\"id\":\"abc", "{\"inputs\":tru}", "{\"inputs\":nul}", "{\"inputs\":NaN}", "{\"inputs\":[-Infinity]}",
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[01]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[1.]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[.5]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[+1]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[1e]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[-]}]}",
        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[0x10]}]}",
        String(repeating: "[", count: 101), String(repeating: "{\"a\":", count: 101),
    ]

    /// The same request or the same error from both readers, for every text of the corpus.
    @Test(arguments: corpus)
    func agreesWithJSONDecoder(text: String) {
        let bytes = Array(text.utf8)
        #expect(Self.viaParser(bytes) == Self.viaJSONDecoder(bytes), "\(text)")
    }

    /// Invalid UTF-8 in a string the request reads is refused by both.
    @Test(arguments: [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0xE2, 0x82]] as [[UInt8]])
    func invalidUTF8IsRefusedByBoth(sequence: [UInt8]) {
        let bytes = Array(#"{"inputs":[],"id":""#.utf8) + sequence + Array(#""}"#.utf8)
        #expect(Self.viaParser(bytes) == Self.viaJSONDecoder(bytes))
        #expect(Self.viaParser(bytes).hasPrefix("error: invalid inference request JSON"))
    }

    /// Where the readers part, on purpose: the new one checks values it skips (Foundation did not
    /// look inside the fields it ignores), so a request with broken JSON anywhere is refused.
    @Test(arguments: [
        #"{"inputs":[],"z":-}"#, #"{"inputs":[],"z":[01]}"#, #"{"inputs":[],"z":"\x"}"#, #"{"inputs":[],"z":"\ud800"}"#,
        "{\"inputs\":[],\"z\":\"a\tb\"}",
    ])
    func brokenJSONInIgnoredFieldsIsRefused(text: String) {
        #expect(Self.viaParser(Array(text.utf8)) == "error: invalid inference request JSON: The given data was not valid JSON.")
        #expect(Self.viaJSONDecoder(Array(text.utf8)).hasPrefix("id=nil"))
    }

    /// Mutants of the corpus (bytes changed, inserted, deleted, cut; a fixed seed, so the same
    /// texts every run): whatever the parser accepts, JSONDecoder reads the same, and every
    /// refusal but "not valid JSON" (the parser's stricter reading of skipped values) is JSONDecoder's too.
    @Test func mutantsAgreeWithJSONDecoder() {
        var state: UInt64 = 0x5EED
        func random(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        let alphabet = Array(#"{}[],:"\u0123456789.eE+-truefalsenul xé"#.utf8) + [0x00, 0xFF, 0xC3, 0xED, 0x0A]
        var disagreements: [String] = []
        for round in 0..<3000 {
            var bytes = Array(Self.corpus[round % Self.corpus.count].utf8)
            for _ in 0...random(3) where !bytes.isEmpty {
                let at = random(bytes.count)
                switch random(4) {
                case 0: bytes[at] = alphabet[random(alphabet.count)]
                case 1: bytes.insert(alphabet[random(alphabet.count)], at: at)
                case 2: bytes.remove(at: at)
                default: bytes.removeSubrange(at...)
                }
            }
            let parsed = Self.viaParser(bytes)
            if parsed == "error: invalid inference request JSON: The given data was not valid JSON." { continue }
            let reference = Self.viaJSONDecoder(bytes)
            if parsed != reference { disagreements.append("\(String(decoding: bytes, as: UTF8.self)): \(parsed) | \(reference)") }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }

    /// Large and hostile texts: linear time, no crash, the depth limit.
    @Test func hostileTextsAreRefusedQuickly() {
        let deep = Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8)
        #expect(Self.viaParser(deep) == "error: invalid inference request JSON: expected an object")
        let longString = Array(("{\"inputs\":[],\"id\":\"" + String(repeating: "\\\"", count: 200_000) + "\"}").utf8)
        #expect(Self.viaParser(longString).hasPrefix("id=\"\"\""))
        let manyKeys = Array(("{" + (0..<20_000).map { "\"k\($0)\":[1,{\"a\":\"b\"}]," }.joined() + "\"inputs\":[]}").utf8)
        #expect(Self.viaParser(manyKeys) == Self.viaJSONDecoder(manyKeys))
        let hugeNumber = Array(("{\"inputs\":[],\"parameters\":{\"n\":1" + String(repeating: "0", count: 100_000) + "}}").utf8)
        #expect(Self.viaParser(hugeNumber) == Self.viaJSONDecoder(hugeNumber))
        let hugeExponent = Array(#"{"inputs":[{"name":"x","datatype":"INT64","shape":[1],"data":[1e99999999999999999999]}]}"#.utf8)
        #expect(Self.viaParser(hugeExponent) == Self.viaJSONDecoder(hugeExponent))
    }
}

/// The `Decodable` reading of a request that `InferRequestJSON.parse` replaced, kept as the
/// reference the parser is compared with.
struct ReferenceRequest: Decodable {
    struct Input: Decodable {
        var name: String
        var dataType: DataType
        var shape: [Int]
        var parameters: [String: ReferenceParameter]?
        var data: [UInt8]?

        enum CodingKeys: String, CodingKey {
            case name, shape, datatype, parameters, data
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            let typeName = try container.decode(String.self, forKey: .datatype)
            guard let dataType = DataType(rawValue: typeName) else {
                let names = DataType.allCases.map(\.rawValue).joined(separator: ", ")
                throw SwerveError.invalid("input '\(name)': unknown datatype '\(typeName)'; use one of \(names)")
            }
            self.dataType = dataType
            shape = try container.decode([Int].self, forKey: .shape)
            parameters = try container.decodeIfPresent([String: ReferenceParameter].self, forKey: .parameters)
            let expected = try Shape.elementCount(shape, tensorName: name)
            try SharedMemoryParameters.reject(parameters.map { Array($0.keys) } ?? [], of: "input '\(name)'")
            if parameters?["binary_data_size"] != nil {
                guard !container.contains(.data) else {
                    throw SwerveError.invalid("input '\(name)' has both 'data' and binary_data_size; send one")
                }
                data = nil
                return
            }
            guard container.contains(.data) else {
                throw SwerveError.invalid("input '\(name)' has no 'data' (and no binary_data_size parameter)")
            }
            let decoded = try ReferenceTensorData.decode(try container.superDecoder(forKey: .data), dataType: dataType, expectedCount: expected)
            guard decoded.count == expected else {
                throw SwerveError.invalid(
                    "input '\(name)': shape \(Shape.describe(shape)) needs \(expected) elements but 'data' has \(decoded.count)")
            }
            data = decoded.bytes
        }
    }

    struct Output: Decodable {
        var name: String
        var parameters: [String: ReferenceParameter]?
    }

    var id: String?
    var parameters: [String: ReferenceParameter]?
    var inputs: [Input]
    var outputs: [Output]?

    static func parse(_ bytes: [UInt8]) throws -> ReferenceRequest {
        try JSONNesting.check(bytes)
        do {
            return try JSONDecoder().decode(ReferenceRequest.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw SwerveError.invalid("invalid inference request JSON: \(JSONErrorDescription.describe(error))")
        }
    }
}

/// `ParameterJSON`'s `Decodable` reading, as the server had it.
struct ReferenceParameter: Decodable {
    var value: InferenceParameter

    init(from decoder: any Decoder) throws {
        switch try JSONValue(from: decoder) {
        case .bool(let flag): value = .bool(flag)
        case .int(let integer): value = .int(integer)
        case .uint(let integer): value = .uint(integer)
        case .double(let real): value = .double(real)
        case .string(let text): value = .string(text)
        case .null, .array, .object:
            throw DecodingError.typeMismatch(
                InferenceParameter.self,
                .init(codingPath: decoder.codingPath, debugDescription: "a parameter must be a string, a number or a boolean"))
        }
    }
}

/// `TensorJSON`'s `Decoder` reading of `data`, as the server had it.
enum ReferenceTensorData {
    static func decode(_ decoder: any Decoder, dataType: DataType, expectedCount: Int) throws -> (bytes: [UInt8], count: Int) {
        switch dataType {
        case .bool: return try decode(decoder, Bool.self) { $1.append($0 ? 1 : 0) }
        case .uint8: return try decode(decoder, UInt8.self) { $1.append($0) }
        case .int8: return try decode(decoder, Int8.self) { $1.append(UInt8(bitPattern: $0)) }
        case .uint16: return try decode(decoder, UInt16.self, appendInteger)
        case .int16: return try decode(decoder, Int16.self, appendInteger)
        case .uint32: return try decode(decoder, UInt32.self, appendInteger)
        case .int32: return try decode(decoder, Int32.self, appendInteger)
        case .uint64: return try decode(decoder, UInt64.self, appendInteger)
        case .int64: return try decode(decoder, Int64.self, appendInteger)
        case .fp32: return try decode(decoder, Float.self) { appendInteger($0.bitPattern, to: &$1) }
        case .fp64: return try decode(decoder, Double.self) { appendInteger($0.bitPattern, to: &$1) }
        case .fp16: return try decode(decoder, Float.self) { appendInteger(Float16($0).bitPattern, to: &$1) }
        case .bf16: return try decode(decoder, Float.self) { appendInteger(BFloat16.bits(of: $0), to: &$1) }
        case .bytes: return try decode(decoder, String.self) { BytesCodec.append($0.utf8, to: &$1) }
        }
    }

    private static func appendInteger<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func decode<T: Decodable>(_ decoder: any Decoder, _ type: T.Type, _ append: (T, inout [UInt8]) -> Void) throws -> (bytes: [UInt8], count: Int) {
        var bytes: [UInt8] = []
        var count = 0
        if let flat = try? decoder.singleValueContainer().decode([T].self) {
            for value in flat { append(value, &bytes) }
            return (bytes, flat.count)
        }
        try decodeNested(decoder, depth: 0) { element in
            append(try element.singleValueContainer().decode(T.self), &bytes)
            count += 1
        }
        return (bytes, count)
    }

    private static func decodeNested(_ decoder: any Decoder, depth: Int, _ element: (any Decoder) throws -> Void) throws {
        guard depth < 64 else { throw SwerveError.invalid("tensor data is nested more than 64 levels deep") }
        guard var container = try? decoder.unkeyedContainer() else {
            try element(decoder)
            return
        }
        while !container.isAtEnd {
            let child = try container.superDecoder()
            if (try? child.unkeyedContainer()) != nil {
                try decodeNested(child, depth: depth + 1, element)
            } else {
                try element(child)
            }
        }
    }
}
