import Foundation

/// A JSON value as a tree, for the small bodies of the status, metadata, configuration and
/// settings endpoints: built in code (with literals) and written by ``JSONWriter``, or read with
/// `Decodable` (``decodeJSON(_:_:)``). Inference bodies have readers and writers of their own.
///
/// Objects are written with their keys in ascending order (Swift's `String` order), so the same
/// value always gives the same text.
enum JSONValue: Sendable, Equatable {
    case string(String)
    /// An integer; reading gives this case for every integer that fits `Int64`.
    case int(Int64)
    /// An unsigned integer; reading gives this case only above `Int64.max`.
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    /// An integer value: `.int`, or `.uint` above `Int64.max`.
    init(_ value: some BinaryInteger) {
        if let exact = Int64(exactly: value) {
            self = .int(exact)
        } else {
            self = .uint(UInt64(value))
        }
    }

    /// The JSON text of the value, UTF-8.
    func encoded() -> [UInt8] {
        var writer = JSONWriter()
        writer.value(self)
        return writer.bytes
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int64) { self = .int(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// A later duplicate key replaces an earlier one.
    init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, later in later }))
    }
}

extension JSONValue: Decodable {
    /// Reads any JSON value. Integers are read as `Int64`, then `UInt64`, before `Double`, so
    /// they keep their exact values; `true` and `false` are booleans, never numbers.
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .uint(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

extension JSONWriter {
    /// Appends a ``JSONValue``; object keys in ascending order.
    mutating func value(_ value: JSONValue) {
        switch value {
        case .string(let text): string(text)
        case .int(let integer): number(integer)
        case .uint(let integer): number(integer)
        case .double(let real): number(real)
        case .bool(let flag): bool(flag)
        case .null: raw("null")
        case .array(let elements):
            raw("[")
            for (index, element) in elements.enumerated() {
                if index > 0 { raw(",") }
                self.value(element)
            }
            raw("]")
        case .object(let members):
            raw("{")
            for (index, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { raw(",") }
                string(member.key)
                raw(":")
                self.value(member.value)
            }
            raw("}")
        }
    }
}
