import Foundation
import SwerveCore

/// The JSON part of a KServe v2 inference request, decoded straight into core tensors.
package struct InferRequestJSON: Decodable {
    struct Input: Decodable {
        var name: String
        var dataType: DataType
        var shape: [Int]
        var parameters: [String: ParameterJSON]?
        /// The decoded elements, when the tensor came as JSON `data`.
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
            parameters = try container.decodeIfPresent([String: ParameterJSON].self, forKey: .parameters)
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
            let decoded = try TensorJSON.decode(try container.superDecoder(forKey: .data), dataType: dataType, expectedCount: expected)
            guard decoded.count == expected else {
                throw SwerveError.invalid(
                    "input '\(name)': shape \(Shape.describe(shape)) needs \(expected) elements but 'data' has \(decoded.count)")
            }
            data = decoded.bytes
        }
    }

    struct Output: Decodable {
        var name: String
        var parameters: [String: ParameterJSON]?
    }

    var id: String?
    var parameters: [String: ParameterJSON]?
    var inputs: [Input]
    var outputs: [Output]?

    /// One decoder for every request (it has no per-decode state; making one costs more than a
    /// small header's decoding).
    private static let decoder = JSONDecoder()

    /// Parses the JSON header of a request.
    /// - Throws: ``SwerveError`` (`invalidArgument`) describing the first problem.
    package static func parse(_ bytes: some Collection<UInt8>) throws -> InferRequestJSON {
        try JSONNesting.check(bytes)
        do {
            return try decoder.decode(InferRequestJSON.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw SwerveError.invalid("invalid inference request JSON: \(JSONErrorDescription.describe(error))")
        }
    }
}
