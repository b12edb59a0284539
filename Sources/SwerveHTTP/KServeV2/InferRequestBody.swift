import SwerveCore

/// A KServe v2 inference request body split as Triton's binary tensor extension lays it out: a
/// JSON header of `Inference-Header-Content-Length` bytes (the whole body without the field), then
/// the raw bytes of each input that declares `binary_data_size`, in the order of the inputs.
package struct InferRequestBody {
    /// The JSON header.
    package var header: InferRequestJSON
    /// The inputs in the header's order, from their JSON `data` or their binary bytes.
    package var inputs: [NamedTensor]

    /// The length of the JSON header of a body of `bodyCount` bytes, as the
    /// `Inference-Header-Content-Length` field gives it (the whole body when there is no field);
    /// 0 means Triton's raw binary request, whose whole body is the one input.
    /// - Throws: `invalidArgument` when the field is not a number between 0 and the body length.
    package static func headerLength(field: String?, bodyCount: Int) throws -> Int {
        guard let field else { return bodyCount }
        guard let value = Int(field), value >= 0, value <= bodyCount else {
            throw SwerveError.invalid(
                "Inference-Header-Content-Length '\(field)' must be a number between 0 and the body length \(bodyCount)")
        }
        return value
    }

    /// Parses the first `headerLength` bytes of `body` as the JSON header and gives each input with
    /// `binary_data_size` its bytes from the rest, which the inputs must claim exactly.
    /// - Precondition: `0 <= headerLength <= body.count` (as ``headerLength(field:bodyCount:)`` returns).
    /// - Throws: `invalidArgument` naming the first problem.
    package static func split(_ body: [UInt8], headerLength: Int) throws -> InferRequestBody {
        let header = try InferRequestJSON.parse(body[0..<headerLength])
        var binaryOffset = headerLength
        var inputs: [NamedTensor] = []
        inputs.reserveCapacity(header.inputs.count)
        for input in header.inputs {
            if let data = input.data {
                inputs.append(NamedTensor(name: input.name, tensor: Tensor(dataType: input.dataType, shape: input.shape, data: data)))
                continue
            }
            guard let size = input.parameters?["binary_data_size"]?.value.intValue, size >= 0 else {
                throw SwerveError.invalid("input '\(input.name)': binary_data_size must be a non-negative integer")
            }
            guard size <= body.count - binaryOffset else {
                throw SwerveError.invalid(
                    "input '\(input.name)': binary_data_size \(size) is more than the \(body.count - binaryOffset) bytes of binary data left in the body")
            }
            let bytes = Array(body[binaryOffset..<(binaryOffset + Int(size))])
            binaryOffset += Int(size)
            let tensor = try Tensor.validated(name: input.name, dataType: input.dataType, shape: input.shape, data: bytes)
            inputs.append(NamedTensor(name: input.name, tensor: tensor))
        }
        guard binaryOffset == body.count else {
            throw SwerveError.invalid("the body has \(body.count - binaryOffset) bytes of binary data that no input claims (check binary_data_size)")
        }
        return InferRequestBody(header: header, inputs: inputs)
    }
}
