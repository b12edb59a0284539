import Foundation
import SwiftProtobuf

/// Reads Triton's `config.pbtxt` (protobuf text format of `ModelConfig`).
///
/// When the text does not parse, the error names the top-level field that broke it, so a user
/// with a typo in one field does not have to bisect the file.
public enum ModelConfigText {
    /// The result of parsing: the config and which top-level fields the text set explicitly
    /// (proto3 cannot tell `max_batch_size: 0` from an absent field otherwise).
    public struct Parsed: Sendable {
        /// The parsed configuration.
        public var config: Inference_ModelConfig
        /// Names of the top-level fields present in the text.
        public var explicitFields: Set<String>

        /// Creates a parsed configuration from a configuration and the fields its author set.
        public init(config: Inference_ModelConfig, explicitFields: Set<String>) {
            self.config = config
            self.explicitFields = explicitFields
        }
    }

    /// Parses a configuration.
    /// - Throws: ``SwerveError`` (`invalidArgument`) naming the field that could not be parsed.
    public static func parse(_ text: String) throws -> Parsed {
        let chunks = topLevelFields(of: text)
        do {
            let config = try Inference_ModelConfig(textFormatString: text)
            return Parsed(config: config, explicitFields: Set(chunks.map(\.name)))
        } catch {
            for chunk in chunks {
                do {
                    _ = try Inference_ModelConfig(textFormatString: chunk.text)
                } catch let fieldError {
                    var detail = describe(fieldError)
                    if case .unrecognizedEnumValue? = fieldError as? TextFormatDecodingError,
                       let (field, value) = unknownEnumValue(in: chunk.text) {
                        detail = "'\(value)' is not a valid value for '\(field)'"
                    }
                    throw SwerveError.invalid(
                        "config.pbtxt field '\(chunk.name)' (line \(chunk.line)): \(detail); check the field name and value against Triton's ModelConfig"
                    )
                }
            }
            throw SwerveError.invalid("config.pbtxt does not parse: \(describe(error))")
        }
    }

    /// One top-level `name: value` or `name { ... }` of the text.
    struct FieldChunk: Equatable {
        var name: String
        var text: String
        var line: Int
    }

    /// Splits the text into its top-level fields without interpreting them.
    static func topLevelFields(of text: String) -> [FieldChunk] {
        let chars = Array(text.unicodeScalars)
        var chunks: [FieldChunk] = []
        var depth = 0
        var index = 0
        var line = 1
        var afterColon = false
        var current: (name: String, start: Int, line: Int)?

        func close(at end: Int) {
            if let open = current {
                var scalars = String.UnicodeScalarView()
                scalars.append(contentsOf: chars[open.start..<end])
                chunks.append(FieldChunk(name: open.name, text: String(scalars), line: open.line))
            }
            current = nil
        }

        while index < chars.count {
            let c = chars[index]
            switch c {
            case "\n":
                line += 1
                index += 1
            case "#":
                while index < chars.count, chars[index] != "\n" { index += 1 }
            case "\"", "'":
                index += 1
                while index < chars.count, chars[index] != c {
                    if chars[index] == "\\" { index += 1 }
                    if index < chars.count, chars[index] == "\n" { line += 1 }
                    index += 1
                }
                index += 1
                afterColon = false
            case "{", "[", "<":
                depth += 1
                index += 1
                afterColon = false
            case "}", "]", ">":
                depth = max(0, depth - 1)
                index += 1
            case ":":
                if depth == 0 { afterColon = true }
                index += 1
            default:
                if depth == 0, c.properties.isAlphabetic || c == "_" {
                    var end = index
                    while end < chars.count, chars[end].properties.isAlphabetic || chars[end].properties.numericType != nil || chars[end] == "_" {
                        end += 1
                    }
                    if afterColon {
                        afterColon = false
                    } else {
                        close(at: index)
                        var scalars = String.UnicodeScalarView()
                        scalars.append(contentsOf: chars[index..<end])
                        current = (String(scalars), index, line)
                    }
                    index = end
                } else {
                    if depth == 0, !c.properties.isWhitespace, c != ",", c != ";" { afterColon = false }
                    index += 1
                }
            }
        }
        close(at: chars.count)
        return chunks
    }

    /// The first `field: VALUE` in `text` whose bare upper-case VALUE names no enum value of the
    /// configuration's common enums (data types, instance kinds, formats, timeout actions).
    static func unknownEnumValue(in text: String) -> (String, String)? {
        let pattern = /([a-z_]+)\s*:\s*([A-Z][A-Z0-9_]*)/
        for match in text.matches(of: pattern) where !knownEnumValues.contains(String(match.output.2)) {
            return (String(match.output.1), String(match.output.2))
        }
        return nil
    }

    /// Enum value names, read back from the generated code by writing each case in text format.
    private static let knownEnumValues: Set<String> = {
        var names: Set<String> = []
        func collect(_ text: String) {
            if let value = text.split(separator: ":").last { names.insert(value.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        for type in Inference_DataType.allCases {
            var input = Inference_ModelInput()
            input.dataType = type
            collect(input.textFormatString())
        }
        for format in Inference_ModelInput.Format.allCases {
            var input = Inference_ModelInput()
            input.format = format
            collect(input.textFormatString())
        }
        for kind in Inference_ModelInstanceGroup.Kind.allCases {
            var group = Inference_ModelInstanceGroup()
            group.kind = kind
            collect(group.textFormatString())
        }
        for action in Inference_ModelQueuePolicy.TimeoutAction.allCases {
            var policy = Inference_ModelQueuePolicy()
            policy.timeoutAction = action
            collect(policy.textFormatString())
        }
        // Zero values are not written; add them by name.
        names.formUnion(["TYPE_INVALID", "FORMAT_NONE", "KIND_AUTO", "REJECT"])
        return names
    }()

    private static func describe(_ error: any Error) -> String {
        switch error as? TextFormatDecodingError {
        case .unknownField?: "unknown field name"
        case .unrecognizedEnumValue?: "unknown enum value"
        case .malformedNumber?: "malformed number"
        case .malformedText?: "malformed text"
        case .missingFieldNames?: "missing field name"
        default: "\(error)"
        }
    }
}
