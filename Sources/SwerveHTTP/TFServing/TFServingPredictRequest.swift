import Foundation
import SwerveCore

/// The body of a TensorFlow Serving `:predict` request, read against a model's inputs: the row
/// format (`instances`) or the columnar format (`inputs`), TF Serving's `NaN` / `Infinity` /
/// `-Infinity` tokens, `{"b64": ...}` values and `signature_name`.
package struct TFServingPredictRequest {
    /// Whether the request used the row format; the answer then has `predictions`, else `outputs`.
    package var rowFormat: Bool
    /// The input tensors, shaped by the nesting of their values.
    package var inputs: [NamedTensor]

    /// Parses `body` for a model with inputs `io` that serves the signature `signature`; values
    /// for `imageInput` are read as encoded images.
    /// - Throws: `invalidArgument` naming the first problem.
    package static func parse(
        _ body: [UInt8], io: ModelIO, imageInput: String?, signature: String = TFServingRoutes.defaultSignatureName
    ) throws -> TFServingPredictRequest {
        try JSONNesting.check(body)
        // Read with JSONSerialization into `Any`, not the small endpoints' Decodable `JSONValue`:
        // decoding a 10,000-row body (16 numbers a row, optimised build) into `JSONValue` took 3
        // times as long for floats and 2.5 times for integers, and TFServingTensorJSON builds
        // tensors from `Any` values.
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(TFServingNonFinite.markTokens(in: body) ?? body), options: [])
        } catch {
            throw SwerveError.invalid("the body is not valid JSON: \(error.localizedDescription)")
        }
        guard let object = parsed as? [String: Any] else {
            throw SwerveError.invalid("the body must be a JSON object with 'instances' or 'inputs'")
        }
        try checkSignature(object["signature_name"], served: signature)
        switch (object["instances"], object["inputs"]) {
        case (let instances?, nil):
            guard let list = instances as? [Any], !list.isEmpty else {
                throw SwerveError.invalid("'instances' must be a non-empty list")
            }
            return TFServingPredictRequest(rowFormat: true, inputs: try rowInputs(list, io: io, imageInput: imageInput))
        case (nil, let columns?):
            return TFServingPredictRequest(rowFormat: false, inputs: try columnInputs(columns, io: io, imageInput: imageInput))
        case (nil, nil):
            throw SwerveError.invalid("the body must have 'instances' (row format) or 'inputs' (columnar format)")
        default:
            throw SwerveError.invalid("the body must have either 'instances' or 'inputs', not both")
        }
    }

    /// A model serves one signature (``TFServingRoutes/signatureName(of:)``, as its metadata
    /// says); an empty or absent `signature_name` means it too. Others are refused as TensorFlow
    /// Serving refuses them.
    private static func checkSignature(_ value: Any?, served: String) throws {
        guard let value else { return }
        guard let name = value as? String else {
            throw SwerveError.invalid("'signature_name' must be a string")
        }
        guard name.isEmpty || name == served else {
            throw SwerveError.invalid(
                "Serving signature name: \"\(name)\" not found in signature def; this model serves \"\(served)\" (a SavedModel's other signatures are served by a model whose config.pbtxt names them in parameter 'signature_def')")
        }
    }

    /// Row format: one value per example (single input) or one object per example.
    private static func rowInputs(_ instances: [Any], io: ModelIO, imageInput: String?) throws -> [NamedTensor] {
        if io.inputs.count == 1, let spec = io.inputs.first, !(instances.first is [String: Any]) || isB64(instances.first) {
            return [NamedTensor(name: spec.name, tensor: try TFServingTensorJSON.tensor(from: instances, dataType: type(of: spec, imageInput), name: spec.name))]
        }
        return try io.inputs.compactMap { spec in
            let values = try instances.map { instance -> Any? in
                guard let object = instance as? [String: Any] else {
                    throw SwerveError.invalid("with several inputs every instance must be an object of input names")
                }
                return object[spec.name]
            }
            if values.allSatisfy({ $0 == nil }) {
                if io.optionalInputs.contains(spec.name) { return nil }
                throw SwerveError.invalid("missing input '\(spec.name)' in the instances")
            }
            guard values.allSatisfy({ $0 != nil }) else {
                throw SwerveError.invalid("input '\(spec.name)' is missing from some instances")
            }
            return NamedTensor(name: spec.name, tensor: try TFServingTensorJSON.tensor(from: values.map { $0! }, dataType: type(of: spec, imageInput), name: spec.name))
        }
    }

    /// Columnar format: a value for the single input, or an object of input names.
    private static func columnInputs(_ columns: Any, io: ModelIO, imageInput: String?) throws -> [NamedTensor] {
        if let object = columns as? [String: Any], !isB64(columns) {
            return try object.map { name, value in
                guard let spec = io.input(named: name) else {
                    throw SwerveError.invalid("unexpected input '\(name)'; the model's inputs are \(io.inputs.map { "'\($0.name)'" }.joined(separator: ", "))")
                }
                return NamedTensor(name: name, tensor: try TFServingTensorJSON.tensor(from: value, dataType: type(of: spec, imageInput), name: name))
            }
        }
        guard io.inputs.count == 1, let spec = io.inputs.first else {
            throw SwerveError.invalid("the model has several inputs: give 'inputs' as an object of input names")
        }
        return [NamedTensor(name: spec.name, tensor: try TFServingTensorJSON.tensor(from: columns, dataType: type(of: spec, imageInput), name: spec.name))]
    }

    /// The type values of an input are read as: encoded images (BYTES) for the model's image input.
    private static func type(of spec: TensorSpec, _ imageInput: String?) -> DataType {
        spec.name == imageInput ? .bytes : spec.dataType
    }

    private static func isB64(_ value: Any?) -> Bool {
        (value as? [String: Any]).map { $0.count == 1 && $0["b64"] != nil } ?? false
    }
}
