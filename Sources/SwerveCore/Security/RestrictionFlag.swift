/// The two flags that restrict categories, each with Triton's spelling, its word for a category
/// (in Triton's error messages) and how it completes the header name.
public enum RestrictionFlag: Sendable, Hashable {
    /// `--http-restricted-api`: the request must carry the header exactly as named.
    case httpRestrictedAPI
    /// `--grpc-restricted-protocol`: the call must carry the header named with Triton's prefix
    /// `triton-grpc-protocol-` before it (gRPC metadata keys are lowercase).
    case grpcRestrictedProtocol

    /// The flag as written on the command line, without its dashes.
    public var name: String {
        switch self {
        case .httpRestrictedAPI: "http-restricted-api"
        case .grpcRestrictedProtocol: "grpc-restricted-protocol"
        }
    }

    /// Triton's word for one category of this flag: `api` or `protocol`.
    public var noun: String {
        switch self {
        case .httpRestrictedAPI: "api"
        case .grpcRestrictedProtocol: "protocol"
        }
    }

    /// The prefix before the header named in the flag.
    public var headerPrefix: String {
        switch self {
        case .httpRestrictedAPI: ""
        case .grpcRestrictedProtocol: "triton-grpc-protocol-"
        }
    }

    /// The message of a refused request, Triton's words: it names the header, never the key.
    public func denial(header: String) -> String {
        switch self {
        case .httpRestrictedAPI: "This API is restricted, expecting header '\(header)'"
        case .grpcRestrictedProtocol: "This protocol is restricted, expecting header '\(header)'"
        }
    }
}
