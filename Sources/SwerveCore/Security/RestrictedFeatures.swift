/// The categories one protocol's flag restricts, each with the header and key a request needs:
/// the resolved form of every `--http-restricted-api` (or every `--grpc-restricted-protocol`).
///
/// Frontends ask ``check(_:headerValues:)`` before running a restricted endpoint; a request
/// without the header, or with another value, is refused with `permissionDenied` (HTTP 403, gRPC
/// PERMISSION_DENIED) and a message that names the header and never the key.
public struct RestrictedFeatures: Sendable {
    /// What one restricted category needs.
    public struct Restriction: Sendable, Equatable {
        /// The full header name the request must carry (with `triton-grpc-protocol-` for gRPC,
        /// in lowercase there as gRPC sends metadata keys).
        public var header: String
        /// The key's bytes.
        fileprivate var key: [UInt8]
    }

    /// The flag these restrictions come from.
    public let flag: RestrictionFlag
    private let restrictions: [RestrictedCategory: Restriction]
    /// The parsed values with where each key came from, for the startup log.
    private let specs: [RestrictionSpec]

    /// No category restricted.
    public init(flag: RestrictionFlag) {
        self.flag = flag
        restrictions = [:]
        specs = []
    }

    /// Resolves the keys of parsed flag values (``RestrictionSpec``, whose parsing of all the values has
    /// already refused a category given twice).
    /// - Throws: ``SwerveError`` (`invalidArgument`) when a key file or variable is missing or
    ///   empty (``RestrictionKeySource/resolve(for:environment:)``), or a category appears twice.
    public init(_ specs: [RestrictionSpec], flag: RestrictionFlag, environment: [String: String]) throws {
        var restrictions: [RestrictedCategory: Restriction] = [:]
        for spec in specs {
            let key = try spec.key.resolve(for: flag, environment: environment)
            var header = flag.headerPrefix + spec.header
            if flag == .grpcRestrictedProtocol { header = header.lowercased() }
            for category in spec.categories {
                guard restrictions[category] == nil else {
                    throw SwerveError.invalid("restricted \(flag.noun) '\(category.name)' can not be specified in multiple config groups")
                }
                restrictions[category] = Restriction(header: header, key: Array(key.utf8))
            }
        }
        self.flag = flag
        self.restrictions = restrictions
        self.specs = specs
    }

    /// Whether nothing is restricted.
    public var isEmpty: Bool { restrictions.isEmpty }

    /// Whether `category` needs a key.
    public func restricts(_ category: RestrictedCategory) -> Bool { restrictions[category] != nil }

    /// The header `category` needs, or nil when it is open.
    public func header(for category: RestrictedCategory) -> String? { restrictions[category]?.header }

    /// Refuses a request to `category` unless one of the values of its header equals the key.
    /// - Parameter headerValues: the request's values of a header (looked up without regard to
    ///   case, as HTTP and gRPC do).
    /// - Throws: ``SwerveError`` with code `permissionDenied` and Triton's message naming the header.
    public func check(_ category: RestrictedCategory, headerValues: (String) -> [String]) throws(SwerveError) {
        guard let restriction = restrictions[category] else { return }
        // Every value is compared in full, and all of them: which one matched is not timed either.
        var allowed = false
        for value in headerValues(restriction.header) {
            allowed = ConstantTime.equals(value.utf8, restriction.key) || allowed
        }
        guard allowed else { throw SwerveError(.permissionDenied, flag.denial(header: restriction.header)) }
    }

    /// One line per flag value for the startup log: the categories, the header and where the key
    /// came from, never the key; nil when nothing is restricted.
    public var summary: String? {
        guard !specs.isEmpty else { return nil }
        let groups = specs.map { spec in
            var header = flag.headerPrefix + spec.header
            if flag == .grpcRestrictedProtocol { header = header.lowercased() }
            return "\(spec.categories.map(\.name).joined(separator: ",")) need header '\(header)' (key \(spec.key))"
        }
        return groups.joined(separator: "; ")
    }
}
