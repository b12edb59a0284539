import SwerveCore

/// The JSON part of a KServe v2 inference request, decoded straight into core tensors.
///
/// Read by ``parse(_:)`` from a ``JSONTape`` of the text, without `JSONDecoder`: the fields,
/// their checks, the order in which problems are found and the messages that name them are
/// `JSONDecoder`'s (which read these bodies before, and which `InferRequestJSONTests` compares
/// it with), at a fraction of the cost on the small header of a binary request.
package struct InferRequestJSON {
    struct Input {
        var name: String
        var dataType: DataType
        var shape: [Int]
        var parameters: [String: ParameterJSON]?
        /// The decoded elements, when the tensor came as JSON `data`.
        var data: [UInt8]?
    }

    struct Output {
        var name: String
        var parameters: [String: ParameterJSON]?
    }

    var id: String?
    var parameters: [String: ParameterJSON]?
    var inputs: [Input]
    var outputs: [Output]?

    /// Parses the JSON header of a request.
    /// - Throws: ``SwerveError`` (`invalidArgument`) describing the first problem.
    package static func parse(_ bytes: some Collection<UInt8>) throws -> InferRequestJSON {
        if let request = try bytes.withContiguousStorageIfAvailable({ try parse(buffer: $0) }) { return request }
        return try Array(bytes).withUnsafeBufferPointer { try parse(buffer: $0) }
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>) throws -> InferRequestJSON {
        let tape: JSONTape
        do {
            // The tape refuses nesting deeper than JSONNesting's limit too; only a text it refuses
            // pays for JSONNesting's scan, which says so in its words, as before.
            tape = try JSONTape(buffer, depthLimit: JSONNesting.limit)
        } catch {
            try JSONNesting.check(buffer)
            throw SwerveError.invalid("invalid inference request JSON: \(FieldError.notValidJSON)")
        }
        do {
            return try Reader(tape: tape, bytes: buffer).request()
        } catch let error as FieldError {
            throw SwerveError.invalid("invalid inference request JSON: \(error)")
        }
    }
}

/// A value that does not decode, described as `JSONErrorDescription` describes `JSONDecoder`'s
/// errors: what was expected, at which path.
private struct FieldError: Error, CustomStringConvertible {
    enum Problem {
        /// A value of another type: the expected one's name (`a string`, `an array`, …).
        case typeMismatch(String)
        /// `null` where a value is required.
        case valueNotFound(String)
        case keyNotFound(String)
        /// A number outside the range of its type (JSONDecoder's words for it).
        case notValidJSON
    }

    enum PathComponent {
        case key(String)
        case index(Int)
        /// A key of a `[String: …]` object: written `[n]` when it reads as an integer, as
        /// Swift's dictionary coding key gives it an integer value then.
        case dictionaryKey(String)
    }

    var problem: Problem
    /// From the outermost component.
    var path: [PathComponent] = []

    static let notValidJSON = "The given data was not valid JSON."

    var description: String {
        var components = ""
        for component in path {
            switch component {
            case .key(let key): components += "." + key
            case .index(let index): components += "[\(index)]"
            case .dictionaryKey(let key): components += Int(key).map { "[\($0)]" } ?? "." + key
            }
        }
        let at = components.isEmpty ? "" : " at '\(components.hasPrefix(".") ? String(components.dropFirst()) : components)'"
        switch problem {
        case .typeMismatch(let type): return "expected \(type)\(at)"
        case .valueNotFound(let type): return "missing \(type) value\(at)"
        case .keyNotFound(let key): return "missing field '\(key)'\(at)"
        case .notValidJSON: return Self.notValidJSON
        }
    }
}

/// Runs `body`, adding `component` to the path of a ``FieldError`` it throws.
private func within<R>(_ component: @autoclosure () -> FieldError.PathComponent, _ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch var error as FieldError {
        error.path.insert(component(), at: 0)
        throw error
    }
}

/// Builds the request from the tape, field by field in `JSONDecoder`'s order.
private struct Reader {
    let tape: JSONTape
    let bytes: UnsafeBufferPointer<UInt8>

    func kind(_ index: Int) -> JSONTape.Kind { tape.entries[index].kind }

    /// The value of `key` in the object at `object`, nil when absent or `null` (`decodeIfPresent`).
    func optionalMember(_ key: StaticString, of object: Int) -> Int? {
        guard let value = tape.member(key, of: object, in: bytes), kind(value) != .null else { return nil }
        return value
    }

    /// The value of `key`, which must be there (`decode(_:forKey:)`).
    func requiredMember(_ key: StaticString, of object: Int) throws -> Int {
        guard let value = tape.member(key, of: object, in: bytes) else {
            throw FieldError(problem: .keyNotFound(key.description))
        }
        return value
    }

    /// Checks that the value at `index` is an object.
    func expectObject(_ index: Int) throws {
        switch kind(index) {
        case .object: return
        case .null: throw FieldError(problem: .valueNotFound("an object"))
        default: throw FieldError(problem: .typeMismatch("an object"))
        }
    }

    func request() throws -> InferRequestJSON {
        try expectObject(0)
        var request = InferRequestJSON(id: nil, parameters: nil, inputs: [], outputs: nil)
        if let id = optionalMember("id", of: 0) {
            request.id = try within(.key("id")) { try string(id) }
        }
        if let parameters = optionalMember("parameters", of: 0) {
            request.parameters = try within(.key("parameters")) { try self.parameters(parameters) }
        }
        let inputs = try requiredMember("inputs", of: 0)
        request.inputs = try within(.key("inputs")) { try array(inputs) { try input($0) } }
        if let outputs = optionalMember("outputs", of: 0) {
            request.outputs = try within(.key("outputs")) { try array(outputs) { try output($0) } }
        }
        return request
    }

    func input(_ index: Int) throws -> InferRequestJSON.Input {
        try expectObject(index)
        let nameIndex = try requiredMember("name", of: index)
        let name = try within(.key("name")) { try string(nameIndex) }
        let typeIndex = try requiredMember("datatype", of: index)
        let typeName = try within(.key("datatype")) { try string(typeIndex) }
        guard let dataType = DataType(rawValue: typeName) else {
            let names = DataType.allCases.map(\.rawValue).joined(separator: ", ")
            throw SwerveError.invalid("input '\(name)': unknown datatype '\(typeName)'; use one of \(names)")
        }
        let shapeIndex = try requiredMember("shape", of: index)
        let shape = try within(.key("shape")) { try array(shapeIndex) { try integer($0, as: Int.self) } }
        var parameters: [String: ParameterJSON]?
        if let parametersIndex = optionalMember("parameters", of: index) {
            parameters = try within(.key("parameters")) { try self.parameters(parametersIndex) }
        }
        let expected = try Shape.elementCount(shape, tensorName: name)
        try SharedMemoryParameters.reject(parameters.map { Array($0.keys) } ?? [], of: "input '\(name)'")
        let dataIndex = tape.member("data", of: index, in: bytes)
        if parameters?["binary_data_size"] != nil {
            guard dataIndex == nil else {
                throw SwerveError.invalid("input '\(name)' has both 'data' and binary_data_size; send one")
            }
            return InferRequestJSON.Input(name: name, dataType: dataType, shape: shape, parameters: parameters, data: nil)
        }
        guard let dataIndex else {
            throw SwerveError.invalid("input '\(name)' has no 'data' (and no binary_data_size parameter)")
        }
        let decoded = try within(.key("data")) { try tensorData(dataIndex, dataType: dataType, expectedCount: expected) }
        guard decoded.count == expected else {
            throw SwerveError.invalid(
                "input '\(name)': shape \(Shape.describe(shape)) needs \(expected) elements but 'data' has \(decoded.count)")
        }
        return InferRequestJSON.Input(name: name, dataType: dataType, shape: shape, parameters: parameters, data: decoded.bytes)
    }

    func output(_ index: Int) throws -> InferRequestJSON.Output {
        try expectObject(index)
        let nameIndex = try requiredMember("name", of: index)
        let name = try within(.key("name")) { try string(nameIndex) }
        var parameters: [String: ParameterJSON]?
        if let parametersIndex = optionalMember("parameters", of: index) {
            parameters = try within(.key("parameters")) { try self.parameters(parametersIndex) }
        }
        return InferRequestJSON.Output(name: name, parameters: parameters)
    }

    // MARK: - Values

    /// The elements of the array at `index`, each read by `element`.
    func array<T>(_ index: Int, _ element: (Int) throws -> T) throws -> [T] {
        switch kind(index) {
        case .array: break
        case .null: throw FieldError(problem: .valueNotFound("an array"))
        default: throw FieldError(problem: .typeMismatch("an array"))
        }
        var values: [T] = []
        values.reserveCapacity(tape.entries[index].start)
        var child = index + 1
        for offset in 0..<tape.entries[index].start {
            values.append(try within(.index(offset)) { try element(child) })
            child = tape.next(after: child)
        }
        return values
    }

    func string(_ index: Int) throws -> String {
        switch kind(index) {
        case .string, .escapedString: return tape.string(index, in: bytes)
        case .null: throw FieldError(problem: .valueNotFound("a string"))
        default: throw FieldError(problem: .typeMismatch("a string"))
        }
    }

    func bool(_ index: Int) throws -> Bool {
        switch kind(index) {
        case .true: return true
        case .false: return false
        // JSONDecoder calls a `null` boolean a mismatch, unlike other `null`s.
        default: throw FieldError(problem: .typeMismatch("a boolean"))
        }
    }

    func integer<T: FixedWidthInteger>(_ index: Int, as _: T.Type) throws -> T {
        switch kind(index) {
        case .number:
            guard let value = JSONNumberText.integer(tape.numberText(index, in: bytes), as: T.self) else {
                throw FieldError(problem: .notValidJSON)
            }
            return value
        case .null: throw FieldError(problem: .valueNotFound("an integer in range"))
        default: throw FieldError(problem: .typeMismatch("an integer in range"))
        }
    }

    func float(_ index: Int) throws -> Float {
        switch kind(index) {
        case .number:
            guard let value = JSONNumberText.float(tape.numberText(index, in: bytes)) else { throw FieldError(problem: .notValidJSON) }
            return value
        case .null: throw FieldError(problem: .valueNotFound("a number"))
        default: throw FieldError(problem: .typeMismatch("a number"))
        }
    }

    func double(_ index: Int) throws -> Double {
        switch kind(index) {
        case .number:
            guard let value = JSONNumberText.double(tape.numberText(index, in: bytes)) else { throw FieldError(problem: .notValidJSON) }
            return value
        case .null: throw FieldError(problem: .valueNotFound("a number"))
        default: throw FieldError(problem: .typeMismatch("a number"))
        }
    }

    // MARK: - Parameters

    /// A parameters object: the first of duplicate keys counts.
    func parameters(_ index: Int) throws -> [String: ParameterJSON] {
        try expectObject(index)
        var result: [String: ParameterJSON] = [:]
        var child = index + 1
        for _ in 0..<tape.entries[index].start {
            let key = tape.string(child, in: bytes)
            if result[key] == nil {
                result[key] = try within(.dictionaryKey(key)) { try parameter(child + 1) }
            }
            child = tape.next(after: child + 1)
        }
        return result
    }

    /// A parameter: a string, a number or a boolean. Anything else fails as `ParameterJSON`
    /// failed reading it through `JSONValue`.
    func parameter(_ index: Int) throws -> ParameterJSON {
        switch kind(index) {
        case .true: return ParameterJSON(value: .bool(true))
        case .false: return ParameterJSON(value: .bool(false))
        case .string, .escapedString: return ParameterJSON(value: .string(tape.string(index, in: bytes)))
        case .number:
            let text = tape.numberText(index, in: bytes)
            if let value = JSONNumberText.integer(text, as: Int64.self) { return ParameterJSON(value: .int(value)) }
            if let value = JSONNumberText.integer(text, as: UInt64.self) { return ParameterJSON(value: .uint(value)) }
            if let value = JSONNumberText.double(text) { return ParameterJSON(value: .double(value)) }
            throw FieldError(problem: .typeMismatch("an object"))
        case .null:
            throw FieldError(problem: .typeMismatch("InferenceParameter"))
        case .array, .object:
            try checkJSONValue(index)
            throw FieldError(problem: .typeMismatch("InferenceParameter"))
        }
    }

    /// Throws what reading the value at `index` as a `JSONValue` threw: a number no Swift
    /// number holds fails its array (as "an object", `JSONValue`'s last try) or its object member.
    func checkJSONValue(_ index: Int) throws {
        switch kind(index) {
        case .number:
            let text = tape.numberText(index, in: bytes)
            guard JSONNumberText.integer(text, as: Int64.self) != nil || JSONNumberText.integer(text, as: UInt64.self) != nil
                || JSONNumberText.double(text) != nil
            else { throw FieldError(problem: .typeMismatch("an object")) }
        case .array:
            var child = index + 1
            for _ in 0..<tape.entries[index].start {
                guard (try? checkJSONValue(child)) != nil else { throw FieldError(problem: .typeMismatch("an object")) }
                child = tape.next(after: child)
            }
        case .object:
            var seen = Set<String>()
            var child = index + 1
            for _ in 0..<tape.entries[index].start {
                let key = tape.string(child, in: bytes)
                if seen.insert(key).inserted {
                    try within(.dictionaryKey(key)) { try checkJSONValue(child + 1) }
                }
                child = tape.next(after: child + 1)
            }
        default:
            return
        }
    }

    // MARK: - Tensor data

    /// Decodes `data` (flat or nested arrays, row-major, or one bare element) of `dataType`.
    ///
    /// Nothing is allocated from the declared shape: the buffer grows with the elements actually
    /// present, so a shape that lies costs nothing.
    func tensorData(_ index: Int, dataType: DataType, expectedCount: Int) throws -> (bytes: [UInt8], count: Int) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(expectedCount, 1 << 16) * (dataType.byteSize ?? 1))
        var count = 0
        func each(_ append: (Int, inout [UInt8]) throws -> Void) throws {
            try walk(index, depth: 0) { element in
                try append(element, &bytes)
                count += 1
            }
        }
        switch dataType {
        case .bool: try each { $1.append(try bool($0) ? 1 : 0) }
        case .uint8: try each { $1.append(try integer($0, as: UInt8.self)) }
        case .int8: try each { $1.append(UInt8(bitPattern: try integer($0, as: Int8.self))) }
        case .uint16: try each { Self.append(try integer($0, as: UInt16.self), to: &$1) }
        case .int16: try each { Self.append(try integer($0, as: Int16.self), to: &$1) }
        case .uint32: try each { Self.append(try integer($0, as: UInt32.self), to: &$1) }
        case .int32: try each { Self.append(try integer($0, as: Int32.self), to: &$1) }
        case .uint64: try each { Self.append(try integer($0, as: UInt64.self), to: &$1) }
        case .int64: try each { Self.append(try integer($0, as: Int64.self), to: &$1) }
        case .fp32: try each { Self.append(try float($0).bitPattern, to: &$1) }
        case .fp64: try each { Self.append(try double($0).bitPattern, to: &$1) }
        case .fp16: try each { Self.append(Float16(try float($0)).bitPattern, to: &$1) }
        case .bf16: try each { Self.append(BFloat16.bits(of: try float($0)), to: &$1) }
        case .bytes: try each { BytesCodec.append(try string($0).utf8, to: &$1) }
        }
        return (bytes, count)
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Calls `element` for each leaf of nested arrays in row-major order (a value that is not an
    /// array is one leaf).
    private func walk(_ index: Int, depth: Int, _ element: (Int) throws -> Void) throws {
        guard depth < 64 else {
            throw SwerveError.invalid("tensor data is nested more than 64 levels deep")
        }
        guard kind(index) == .array else {
            try element(index)
            return
        }
        var child = index + 1
        for offset in 0..<tape.entries[index].start {
            try within(.index(offset)) {
                if kind(child) == .array {
                    try walk(child, depth: depth + 1, element)
                } else {
                    try element(child)
                }
            }
            child = tape.next(after: child)
        }
    }
}
