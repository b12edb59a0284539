import Foundation
import SwerveCore
import SwiftProtobuf

/// JSON bodies of the KServe v2 metadata endpoints.
enum MetadataJSON {
    struct TensorMetadata: Encodable {
        var name: String
        var datatype: String
        var shape: [Int]
    }

    struct Model: Encodable {
        var name: String
        var versions: [String]
        var platform: String
        var inputs: [TensorMetadata]
        var outputs: [TensorMetadata]
    }

    struct Server: Encodable {
        var name: String
        var version: String
        var extensions: [String]
    }

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func model(_ metadata: ModelMetadata) throws -> [UInt8] {
        let tensors = { (specs: [TensorSpec]) in specs.map { TensorMetadata(name: $0.name, datatype: $0.dataType.rawValue, shape: $0.shape) } }
        return try encode(
            Model(
                name: metadata.name, versions: metadata.versions.map(String.init), platform: metadata.platform,
                inputs: tensors(metadata.inputs), outputs: tensors(metadata.outputs)))
    }

    static func server(_ info: ServerInfo) throws -> [UInt8] {
        try encode(Server(name: info.name, version: info.version, extensions: info.extensions))
    }

    /// Triton's model configuration JSON: protobuf JSON with the .proto field names, enums by
    /// name, 64-bit integers as numbers, and the fields clients read present even at their defaults.
    static func config(_ config: Inference_ModelConfig) throws -> [UInt8] {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        options.alwaysPrintInt64sAsNumbers = true
        let data = try config.jsonUTF8Data(options: options)
        guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            return Array(data)
        }
        object["max_batch_size"] = object["max_batch_size"] ?? 0
        for key in ["input", "output"] {
            let tensors = (object[key] as? [[String: Any]] ?? []).map { tensor -> [String: Any] in
                var tensor = tensor
                tensor["dims"] = tensor["dims"] ?? [Int]()
                if key == "input" { tensor["format"] = tensor["format"] ?? "FORMAT_NONE" }
                tensor["data_type"] = tensor["data_type"] ?? "TYPE_INVALID"
                return tensor
            }
            object[key] = tensors
        }
        return Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
