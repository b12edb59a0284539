/// One value of `--http-restricted-api` or `--grpc-restricted-protocol`, parsed as Triton parses
/// it: `<category>[,<category>...]:<header>=<key>`.
///
/// The categories end at the first `:`, the header at the first `=` after it; the rest, which may
/// hold `:` and `=`, is the key (or where to read it, see ``RestrictionKeySource``). No part may be
/// empty. Errors never quote the key.
public struct RestrictionSpec: Sendable, Equatable {
    /// The categories this value restricts, in the order given.
    public var categories: [RestrictedCategory]
    /// The header as written in the flag, without the gRPC prefix.
    public var header: String
    /// Where the key comes from.
    public var key: RestrictionKeySource

    /// Parses one flag value.
    /// - Throws: ``SwerveError`` (`invalidArgument`) for a value not in the format, an unknown
    ///   category (Triton's words: `unknown restricted api 'x'`), or a header that is not a valid
    ///   header name.
    public static func parse(_ text: String, flag: RestrictionFlag) throws -> RestrictionSpec {
        let format = "--\(flag.name) option format is '<\(flag.noun)>[,<\(flag.noun)>...]:<header>=<key>'"
        guard let colon = text.firstIndex(of: ":") else {
            throw SwerveError.invalid("\(format); the value has no ':'")
        }
        let rest = text[text.index(after: colon)...]
        guard let equals = rest.firstIndex(of: "=") else {
            throw SwerveError.invalid("\(format); the value has no '=' after the ':'")
        }
        let names = text[..<colon]
        let header = String(rest[..<equals])
        let keyText = String(rest[rest.index(after: equals)...])
        guard !names.isEmpty, !header.isEmpty, !keyText.isEmpty else {
            let empty = names.isEmpty ? "the \(flag.noun) list" : header.isEmpty ? "the header" : "the key"
            throw SwerveError.invalid("\(format); \(empty) is empty")
        }
        var categories: [RestrictedCategory] = []
        for name in names.split(separator: ",", omittingEmptySubsequences: false) {
            guard let category = RestrictedCategory(rawValue: String(name)) else {
                throw SwerveError.invalid(
                    "unknown restricted \(flag.noun) '\(name.prefix(100))' (known: \(RestrictedCategory.allCases.map(\.name).joined(separator: ", ")))")
            }
            categories.append(category)
        }
        try checkHeader(header, flag: flag)
        return RestrictionSpec(categories: categories, header: header, key: RestrictionKeySource(parsing: keyText))
    }

    /// Parses every value of the repeatable flag; a category may appear in one value only, and
    /// once (Triton's rule and words: `restricted api 'health' can not be specified in multiple
    /// config groups`).
    public static func parse(_ texts: [String], flag: RestrictionFlag) throws -> [RestrictionSpec] {
        var seen = Set<RestrictedCategory>()
        return try texts.map { text in
            let spec = try parse(text, flag: flag)
            for category in spec.categories {
                guard seen.insert(category).inserted else {
                    throw SwerveError.invalid("restricted \(flag.noun) '\(category.name)' can not be specified in multiple config groups")
                }
            }
            return spec
        }
    }

    /// The characters of a header name (RFC 9110's `token`).
    private static let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    private static func checkHeader(_ header: String, flag: RestrictionFlag) throws {
        guard header.utf8.allSatisfy(tokenCharacters.contains) else {
            throw SwerveError.invalid(
                "--\(flag.name): '\(header.prefix(100))' is not a header name (letters, digits and !#$%&'*+-.^_`|~ only)")
        }
        // gRPC reads a `-bin` key as base64 bytes, never as the text the key is compared with.
        if flag == .grpcRestrictedProtocol, header.lowercased().hasSuffix("-bin") {
            throw SwerveError.invalid("--\(flag.name): the header '\(header)' ends in '-bin', which gRPC keeps for binary metadata")
        }
    }
}
