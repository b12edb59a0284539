import SwerveCore

/// Writes a KServe v2 inference response: JSON, or JSON followed by binary tensor data when the
/// client asked for binary outputs (Triton's binary tensor data extension).
enum InferResponseJSON {
    /// The encoded body and the JSON header's length when binary data follows it.
    struct Encoded {
        var body: [UInt8]
        var headerLength: Int?
    }

    /// Encodes `response`; outputs whose name is in `binaryOutputs` are sent as raw bytes.
    static func encode(_ response: InferenceResponse, binaryOutputs: Set<String>) throws -> Encoded {
        let dataBytes = response.outputs.reduce(0) { $0 + $1.tensor.data.count }
        var writer = JSONWriter(capacity: 256 + (binaryOutputs.isEmpty ? dataBytes * 3 : 64 * response.outputs.count))
        writer.raw("{\"model_name\":")
        writer.string(response.modelName)
        writer.raw(",\"model_version\":")
        writer.string(String(response.modelVersion))
        if let id = response.id {
            writer.raw(",\"id\":")
            writer.string(id)
        }
        if !response.parameters.isEmpty {
            writer.raw(",\"parameters\":")
            ParameterJSON.write(response.parameters, to: &writer)
        }
        writer.raw(",\"outputs\":[")
        var blobs: [[UInt8]] = []
        for (index, output) in response.outputs.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"name\":")
            writer.string(output.name)
            writer.raw(",\"datatype\":\"\(output.tensor.dataType.rawValue)\",\"shape\":[")
            writer.raw(output.tensor.shape.map(String.init).joined(separator: ","))
            writer.raw("]")
            if binaryOutputs.contains(output.name) {
                writer.raw(",\"parameters\":{\"binary_data_size\":\(output.tensor.data.count)}}")
                blobs.append(output.tensor.data)
            } else {
                writer.raw(",\"data\":")
                try TensorJSON.write(output.tensor, name: output.name, to: &writer)
                writer.raw("}")
            }
        }
        writer.raw("]}")
        guard !blobs.isEmpty else {
            return Encoded(body: writer.bytes, headerLength: nil)
        }
        var body = writer.bytes
        let headerLength = body.count
        body.reserveCapacity(headerLength + blobs.reduce(0) { $0 + $1.count })
        for blob in blobs { body.append(contentsOf: blob) }
        return Encoded(body: body, headerLength: headerLength)
    }
}
