import Foundation
import SwerveCore

/// Translates `ModelInferRequest` messages into core requests and core responses into
/// `ModelInferResponse` messages, following KServe v2's tensor payload rules for gRPC.
package enum InferTranslation {
    /// The parameters that would point a tensor at a shared memory region, which Swerve does not have.

    /// The core request for a message.
    ///
    /// Input data comes either from `raw_input_contents` (one entry per input, in input order, taken
    /// as they are) or from each input's typed `contents`, never from both.
    /// - Throws: `invalidArgument` naming the offending input when the message is malformed.
    package static func request(from message: Inference_ModelInferRequest) throws -> InferenceRequest {
        guard !message.modelName.isEmpty else {
            throw SwerveError.invalid("the request has no model_name")
        }
        let version = try ModelVersionText.parse(message.modelVersion, model: message.modelName)
        let raw = message.rawInputContents
        if !raw.isEmpty, raw.count != message.inputs.count {
            throw SwerveError.invalid(
                "raw_input_contents has \(raw.count) entries but the request has \(message.inputs.count) inputs; give one entry per input, in input order")
        }
        var inputs: [NamedTensor] = []
        inputs.reserveCapacity(message.inputs.count)
        for (index, input) in message.inputs.enumerated() {
            let name = input.name
            try SharedMemoryParameters.reject(input.parameters.keys, of: "input '\(name)'")
            guard let dataType = DataType(rawValue: input.datatype) else {
                let known = DataType.allCases.map(\.rawValue).joined(separator: ", ")
                throw SwerveError.invalid("input '\(name)': unknown datatype '\(input.datatype)'; expected one of \(known)")
            }
            var shape: [Int] = []
            shape.reserveCapacity(input.shape.count)
            for dim in input.shape {
                guard let dim = Int(exactly: dim) else {
                    throw SwerveError.invalid("input '\(name)': shape dimension \(dim) is out of range")
                }
                shape.append(dim)
            }
            let tensor: Tensor
            if raw.isEmpty {
                tensor = try TypedContents.tensor(from: input.contents, name: name, dataType: dataType, shape: shape)
            } else {
                if let field = TypedContents.filledFields(input.contents).first {
                    throw SwerveError.invalid(
                        "input '\(name)' has data in contents.\(field.name) but the request also uses raw_input_contents; use one or the other for all inputs")
                }
                tensor = try Tensor.validated(name: name, dataType: dataType, shape: shape, data: [UInt8](raw[index]))
            }
            inputs.append(NamedTensor(name: name, tensor: tensor))
        }
        var outputs: [InferenceRequest.RequestedOutput] = []
        outputs.reserveCapacity(message.outputs.count)
        for output in message.outputs {
            try SharedMemoryParameters.reject(output.parameters.keys, of: "output '\(output.name)'")
            outputs.append(InferenceRequest.RequestedOutput(name: output.name, parameters: InferParameters.core(output.parameters)))
        }
        try SharedMemoryParameters.reject(message.parameters.keys, of: "the request")
        return InferenceRequest(
            modelName: message.modelName, modelVersion: version, id: message.id.isEmpty ? nil : message.id,
            parameters: InferParameters.core(message.parameters), inputs: inputs, outputs: outputs)
    }

    /// The message for a core response: every output's data in `raw_output_contents`, in output
    /// order, as Triton answers.
    static func message(from response: InferenceResponse) -> Inference_ModelInferResponse {
        var message = Inference_ModelInferResponse()
        message.modelName = response.modelName
        message.modelVersion = String(response.modelVersion)
        message.id = response.id ?? ""
        message.parameters = InferParameters.wire(response.parameters)
        message.outputs = response.outputs.map { output in
            var tensor = Inference_ModelInferResponse.InferOutputTensor()
            tensor.name = output.name
            tensor.datatype = output.tensor.dataType.rawValue
            tensor.shape = output.tensor.shape.map(Int64.init)
            return tensor
        }
        message.rawOutputContents = response.outputs.map { Data($0.tensor.data) }
        return message
    }
}
