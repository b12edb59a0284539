import Foundation
import SwerveCore
import SwiftProtobuf

/// JSON bodies of the KServe v2 metadata endpoints.
enum MetadataJSON {
    /// `GET /v2/models/{m}[/versions/{v}]`: name, versions, platform, inputs and outputs.
    static func model(_ metadata: ModelMetadata) -> [UInt8] {
        func tensors(_ specs: [TensorSpec]) -> JSONValue {
            .array(specs.map { ["name": .string($0.name), "datatype": .string($0.dataType.rawValue), "shape": .array($0.shape.map(JSONValue.init))] })
        }
        let object: JSONValue = [
            "name": .string(metadata.name), "versions": .array(metadata.versions.map { .string(String($0)) }),
            "platform": .string(metadata.platform), "inputs": tensors(metadata.inputs), "outputs": tensors(metadata.outputs),
        ]
        return object.encoded()
    }

    /// `GET /v2`: name, version and extensions.
    static func server(_ info: ServerInfo) -> [UInt8] {
        let object: JSONValue = [
            "name": .string(info.name), "version": .string(info.version), "extensions": .array(info.extensions.map(JSONValue.string)),
        ]
        return object.encoded()
    }

    /// Triton's model configuration JSON: protobuf JSON with the .proto field names, enums by
    /// name, 64-bit integers as numbers, and the fields clients read present even at their defaults
    /// (`max_batch_size`, each tensor's `dims` and `data_type`, each input's `format`), which
    /// protobuf JSON leaves out.
    static func config(_ config: Inference_ModelConfig) throws -> [UInt8] {
        var options = JSONEncodingOptions()
        options.preserveProtoFieldNames = true
        options.alwaysPrintInt64sAsNumbers = true
        let data = try config.jsonUTF8Data(options: options)
        // Read back as a tree to add the defaulted fields. The text is SwiftProtobuf's, so a
        // failure to read it is our bug (500), not the client's.
        let tree: JSONValue
        do {
            tree = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw SwerveError.internal("cannot read back the model configuration's protobuf JSON: \(error)")
        }
        guard case .object(var object) = tree else { return Array(data) }
        object["max_batch_size"] = object["max_batch_size"] ?? 0
        for key in ["input", "output"] {
            guard case .array(let tensors) = object[key] else {
                object[key] = []
                continue
            }
            object[key] = .array(tensors.map { tensor in
                guard case .object(var fields) = tensor else { return tensor }
                fields["dims"] = fields["dims"] ?? []
                if key == "input" { fields["format"] = fields["format"] ?? "FORMAT_NONE" }
                fields["data_type"] = fields["data_type"] ?? "TYPE_INVALID"
                return .object(fields)
            })
        }
        return JSONValue.object(object).encoded()
    }
}
