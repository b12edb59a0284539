import SwerveCore

/// Writes the JSON body of TensorFlow Serving's `:predict` answer from an ``InferenceResponse``:
/// `{"predictions": [...]}`, one entry per row, for the row (`instances`) format, and
/// `{"outputs": ...}` for the columnar (`inputs`) format. One output is written bare, several as an
/// object keyed by output name. Every element is rendered once, so the time grows linearly with the
/// size of the answer.
enum TFServingPredictResponse {
    /// The body of the answer to a request in the row format (`rowFormat`) or the columnar format.
    /// - Throws: `invalidArgument` when, in the row format, an output has fewer rows than the
    ///   first output; `internal` when an output's buffer holds fewer elements than its shape.
    static func encode(_ response: InferenceResponse, rowFormat: Bool) throws -> [UInt8] {
        var rendered = 0
        return try encode(response, rowFormat: rowFormat, rendered: &rendered)
    }

    /// ``encode(_:rowFormat:)``, adding to `rendered` the number of elements rendered as JSON text.
    static func encode(_ response: InferenceResponse, rowFormat: Bool, rendered: inout Int) throws -> [UInt8] {
        let outputs = try response.outputs.map { try TFServingTensorJSON.Output(name: $0.name, tensor: $0.tensor) }
        let elements = outputs.reduce(0) { $0 + $1.elementCount }
        var writer = JSONWriter(capacity: min(elements, 1 << 20) * 12 + 64)
        if rowFormat {
            // The rows are the first output's outermost dimension (none for a 0-d first output).
            // An output with more rows is written up to that count; a 0-d output is repeated in
            // every row.
            let rows = outputs.first?.tensor.shape.first ?? 0
            for output in outputs {
                if let first = output.tensor.shape.first, first < rows {
                    throw SwerveError.invalid(
                        "Tensor name: \(output.name) has inconsistent batch size: \(first) expecting: \(rows)")
                }
            }
            writer.raw("{\"predictions\":[")
            for row in 0..<rows {
                if row > 0 { writer.raw(",") }
                write(outputs, row: row, to: &writer, rendered: &rendered)
            }
            writer.raw("]}")
        } else {
            writer.raw("{\"outputs\":")
            write(outputs, row: nil, to: &writer, rendered: &rendered)
            writer.raw("}")
        }
        return writer.bytes
    }

    /// Writes row `row` (or the whole tensors) of one output bare, or of several as an object
    /// keyed by output name.
    private static func write(
        _ outputs: [TFServingTensorJSON.Output], row: Int?, to writer: inout JSONWriter, rendered: inout Int
    ) {
        if outputs.count == 1 {
            outputs[0].write(row: row, to: &writer, rendered: &rendered)
            return
        }
        writer.raw("{")
        for (index, output) in outputs.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.string(output.name)
            writer.raw(":")
            output.write(row: row, to: &writer, rendered: &rendered)
        }
        writer.raw("}")
    }
}
