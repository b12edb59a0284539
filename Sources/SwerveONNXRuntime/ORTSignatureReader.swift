import SwerveCore

/// Reads a session's inputs and outputs (names, element types, dimensions) into a
/// ``ModelSignature``.
///
/// Outputs that are not tensors KServe can carry (a scikit-learn ZipMap's sequence of maps, a
/// complex tensor) are listed as unsupported and the model still loads; such an input fails the load.
struct ORTSignatureReader {
    let runtime: ORTRuntime
    let session: OpaquePointer
    let modelPath: String

    private var api: ORTAPI { runtime.api }

    /// What one input or output is.
    private enum Kind {
        case tensor(DataType, shape: [Int])
        /// Why it cannot be served, as a phrase that follows its name: "is a map, not a tensor".
        case unsupported(String)
    }

    private enum Side: String {
        case input, output
    }

    /// Reads the whole signature.
    /// - Throws: ``SwerveError`` (`invalidArgument`) when an input is not a supported tensor.
    func read() throws(SwerveError) -> ModelSignature {
        var inputs: [TensorSpec] = []
        for index in 0..<(try count(.input)) {
            let name = try self.name(.input, index)
            switch try kind(.input, index) {
            case .tensor(let dataType, let shape):
                inputs.append(TensorSpec(name: name, dataType: dataType, shape: shape))
            case .unsupported(let why):
                throw SwerveError.invalid(
                    "failed to load ONNX model at \(modelPath): input '\(name)' \(why); Swerve serves only tensor inputs"
                )
            }
        }
        var outputs: [TensorSpec] = []
        var unsupported: [UnsupportedTensor] = []
        for index in 0..<(try count(.output)) {
            let name = try self.name(.output, index)
            switch try kind(.output, index) {
            case .tensor(let dataType, let shape):
                outputs.append(TensorSpec(name: name, dataType: dataType, shape: shape))
            case .unsupported(let why):
                unsupported.append(UnsupportedTensor(name: name, reason: "output '\(name)' \(why); it is left out"))
            }
        }
        return ModelSignature(inputs: inputs, outputs: outputs, unsupportedOutputs: unsupported)
    }

    private func count(_ side: Side) throws(SwerveError) -> Int {
        var count = 0
        let status = side == .input ? api.sessionGetInputCount(session, &count) : api.sessionGetOutputCount(session, &count)
        try api.check(status, "counting the model's \(side)s")
        return count
    }

    /// The name, copied out of ONNX Runtime's allocation, which is then freed.
    private func name(_ side: Side, _ index: Int) throws(SwerveError) -> String {
        var raw: UnsafeMutablePointer<CChar>?
        let status = side == .input
            ? api.sessionGetInputName(session, index, runtime.allocator, &raw)
            : api.sessionGetOutputName(session, index, runtime.allocator, &raw)
        try api.check(status, "reading the name of \(side) \(index)")
        defer { api.free(raw, allocator: runtime.allocator) }
        return raw.map { String(cString: $0) } ?? ""
    }

    private func kind(_ side: Side, _ index: Int) throws(SwerveError) -> Kind {
        var typeInfo: OpaquePointer?
        let status = side == .input
            ? api.sessionGetInputTypeInfo(session, index, &typeInfo)
            : api.sessionGetOutputTypeInfo(session, index, &typeInfo)
        try api.check(status, "reading the type of \(side) \(index)")
        defer { api.releaseTypeInfo(typeInfo) }
        let onnxType = try self.onnxType(typeInfo)
        guard onnxType == ORTConstant.typeTensor else {
            return .unsupported("is \(try describe(onnxType, typeInfo)), not a tensor")
        }
        // The tensor info belongs to the type info: it is not released on its own.
        var tensorInfo: OpaquePointer?
        try api.check(api.castTypeInfoToTensorInfo(typeInfo, &tensorInfo), "reading the tensor type of \(side) \(index)")
        var elementType: Int32 = 0
        try api.check(api.getTensorElementType(tensorInfo, &elementType), "reading the element type of \(side) \(index)")
        guard let dataType = ORTElementType.dataType(of: elementType) else {
            return .unsupported("has element type \(ORTElementType.name(of: elementType)), which has no KServe equivalent")
        }
        var rank = 0
        try api.check(api.getDimensionsCount(tensorInfo, &rank), "reading the rank of \(side) \(index)")
        var dims = [Int64](repeating: 0, count: rank)
        try api.check(api.getDimensions(tensorInfo, &dims, rank), "reading the dimensions of \(side) \(index)")
        return .tensor(dataType, shape: dims.map { $0 < 0 ? -1 : Int($0) })
    }

    private func onnxType(_ typeInfo: OpaquePointer?) throws(SwerveError) -> Int32 {
        var onnxType: Int32 = 0
        try api.check(api.getOnnxTypeFromTypeInfo(typeInfo, &onnxType), "reading a value's ONNX type")
        return onnxType
    }

    /// "a map", "a sequence of maps", "an opaque value", ...
    private func describe(_ onnxType: Int32, _ typeInfo: OpaquePointer?) throws(SwerveError) -> String {
        guard onnxType == ORTConstant.typeSequence else {
            return Self.noun(onnxType, plural: false)
        }
        // The sequence info belongs to the type info; the element type info is a copy to release.
        var sequenceInfo: OpaquePointer?
        try api.check(api.castTypeInfoToSequenceTypeInfo(typeInfo, &sequenceInfo), "reading a sequence type")
        var elementInfo: OpaquePointer?
        try api.check(api.getSequenceElementType(sequenceInfo, &elementInfo), "reading a sequence's element type")
        defer { api.releaseTypeInfo(elementInfo) }
        return "a sequence of " + Self.noun(try self.onnxType(elementInfo), plural: true)
    }

    private static func noun(_ onnxType: Int32, plural: Bool) -> String {
        let (singular, many): (String, String) = switch onnxType {
        case ORTConstant.typeTensor: ("a tensor", "tensors")
        case ORTConstant.typeSequence: ("a sequence", "sequences")
        case ORTConstant.typeMap: ("a map", "maps")
        case ORTConstant.typeOpaque: ("an opaque value", "opaque values")
        case ORTConstant.typeSparseTensor: ("a sparse tensor", "sparse tensors")
        case ORTConstant.typeOptional: ("an optional value", "optional values")
        default: ("a value of ONNX type \(onnxType)", "values of ONNX type \(onnxType)")
        }
        return plural ? many : singular
    }
}
