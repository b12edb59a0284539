import SwerveCore

/// Reads one signature of a loaded SavedModel's `MetaGraphDef` into a ``ModelSignature`` whose
/// inputs and outputs carry the signature's keys (`x`, `output_0`: the names TF Serving and
/// Triton clients use), each tied to its tensor in the graph.
///
/// Inputs and outputs are listed in the order of their keys. An output that is not a dense tensor
/// of a type KServe carries (a sparse or composite tensor, a complex number, a resource) is listed
/// as unsupported and the model still loads; such an input fails the load.
struct TFSignatureReader {
    let api: TFAPI
    /// The graph the SavedModel was loaded into.
    let graph: OpaquePointer
    let modelPath: String
    /// The user's configuration: its dims stand in for a tensor of unknown rank.
    let config: Inference_ModelConfig?

    /// The signature served when the configuration names none, as in TF Serving.
    static let defaultKey = "serving_default"
    /// The configuration parameters that name the signature: Swerve's, and Triton's TensorFlow
    /// backend's.
    static let keyParameters = ["signature_def", "TF_SIGNATURE_DEF"]

    /// The signature and its tensors.
    struct Result {
        var signature: ModelSignature
        var inputs: [TFTensorBinding]
        var outputs: [TFTensorBinding]
    }

    /// What one input or output is.
    private enum Kind {
        case tensor(TFTensorBinding)
        /// Why it cannot be served, as a phrase that follows its name: "is a sparse tensor".
        case unsupported(String)
    }

    private enum Side: String {
        case input, output
    }

    /// The signature key the configuration asks for (the parameter `signature_def`, or Triton's
    /// `TF_SIGNATURE_DEF`), else `serving_default`.
    /// - Throws: ``SwerveError`` (`invalidArgument`) when the two parameters name different signatures.
    static func signatureKey(in config: Inference_ModelConfig?) throws(SwerveError) -> String {
        let named = keyParameters.compactMap { name in
            config?.parameters[name].map { (name, $0.stringValue) }
        }
        guard let (_, key) = named.first else {
            return defaultKey
        }
        if let other = named.dropFirst().first(where: { $0.1 != key }) {
            throw SwerveError.invalid(
                "config parameters '\(named[0].0)' ('\(key)') and '\(other.0)' ('\(other.1)') name different signatures; give one")
        }
        return key
    }

    /// Reads the signature `key`.
    /// - Throws: ``SwerveError`` (`invalidArgument`) when the SavedModel has no such signature (the
    ///   message lists those it has), or an input cannot be served.
    func read(_ metaGraph: Tensorflow_MetaGraphDef, key: String) throws(SwerveError) -> Result {
        guard let definition = metaGraph.signatureDef[key] else {
            // TensorFlow 2 adds `__saved_model_init_op`, which is no function a client can call.
            let available = metaGraph.signatureDef.keys.filter { !$0.hasPrefix("__") }.sorted()
            let list = available.isEmpty ? "it has none" : "it has " + available.map { "'\($0)'" }.joined(separator: ", ")
            throw failure(
                "the SavedModel has no signature '\(key)' for tag 'serve'; \(list) (choose one with the config parameter 'signature_def')")
        }
        var result = Result(signature: ModelSignature(inputs: [], outputs: []), inputs: [], outputs: [])
        for (name, info) in definition.inputs.sorted(by: { $0.key < $1.key }) {
            switch try kind(.input, name, info, signature: key) {
            case .tensor(let binding):
                result.inputs.append(binding)
            case .unsupported(let why):
                throw failure("input '\(name)' of signature '\(key)' \(why); Swerve serves only dense tensor inputs")
            }
        }
        var unsupported: [UnsupportedTensor] = []
        for (name, info) in definition.outputs.sorted(by: { $0.key < $1.key }) {
            switch try kind(.output, name, info, signature: key) {
            case .tensor(let binding):
                result.outputs.append(binding)
            case .unsupported(let why):
                unsupported.append(UnsupportedTensor(name: name, reason: "output '\(name)' \(why); it is left out"))
            }
        }
        result.signature = ModelSignature(
            inputs: result.inputs.map(\.spec), outputs: result.outputs.map(\.spec), unsupportedOutputs: unsupported)
        return result
    }

    private func kind(_ side: Side, _ name: String, _ info: Tensorflow_TensorInfo, signature: String) throws(SwerveError) -> Kind {
        let tensorName: String
        switch info.encoding {
        case .name(let value):
            tensorName = value
        case .cooSparse:
            return .unsupported("is a sparse tensor")
        case .compositeTensor:
            return .unsupported("is a composite tensor (a ragged tensor, for example)")
        case nil:
            return .unsupported("names no tensor")
        }
        guard let dataType = TFDataType.dataType(of: Int32(info.dtype.rawValue)) else {
            return .unsupported("has data type \(TFDataType.name(of: info.dtype.rawValue)), which has no KServe equivalent")
        }
        guard let shape = shape(side, name, info.tensorShape) else {
            return .unsupported("has unknown rank; list its dims in config.pbtxt to serve it")
        }
        let (operationName, index) = Self.split(tensorName)
        guard let operation = api.graphOperationByName(graph, operationName) else {
            throw failure("\(side) '\(name)' of signature '\(signature)' is tensor '\(tensorName)', which is not in the graph")
        }
        guard let index, index < api.operationNumOutputs(operation) else {
            throw failure("\(side) '\(name)' of signature '\(signature)' is tensor '\(tensorName)', which is not an output of operation '\(operationName)'")
        }
        return .tensor(TFTensorBinding(
            spec: TensorSpec(name: name, dataType: dataType, shape: shape), operation: operation, index: index,
            tensorName: tensorName))
    }

    /// The shape with -1 for unknown dimensions, or, for an unknown rank, the dims the configuration
    /// gives (after -1 for the batch when `max_batch_size` is above 0); nil when it gives none.
    private func shape(_ side: Side, _ name: String, _ proto: Tensorflow_TensorShapeProto) -> [Int]? {
        guard proto.unknownRank else {
            return proto.dim.map { $0.size < 0 ? -1 : Int($0.size) }
        }
        let dims: [Int64]? = switch side {
        case .input: config?.input.first { $0.name == name }?.dims
        case .output: config?.output.first { $0.name == name }?.dims
        }
        guard let dims, !dims.isEmpty else { return nil }
        return ((config?.maxBatchSize ?? 0) > 0 ? [-1] : []) + dims.map { Int($0) }
    }

    /// `("serving_default_x", 0)` for `"serving_default_x:0"`; index 0 when there is no `:`; a nil
    /// index when what follows the last `:` is not a number.
    static func split(_ tensorName: String) -> (operation: String, index: Int32?) {
        guard let colon = tensorName.lastIndex(of: ":") else {
            return (tensorName, 0)
        }
        let index = Int32(tensorName[tensorName.index(after: colon)...]).flatMap { $0 >= 0 ? $0 : nil }
        return (String(tensorName[..<colon]), index)
    }

    private func failure(_ why: String) -> SwerveError {
        SwerveError.invalid("failed to load TensorFlow SavedModel at \(modelPath): \(why)")
    }
}
