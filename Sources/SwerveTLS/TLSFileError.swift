/// A TLS file that cannot be used: unreadable, not PEM, or a private key that does not belong to
/// the certificate. Its description names the file and what is wrong with it.
public struct TLSFileError: Error, CustomStringConvertible, Equatable {
    /// Which of the ``TLSFiles`` is at fault.
    public enum Role: Sendable, Equatable {
        case certificate
        case privateKey
        case clientCA
    }

    /// Which file is at fault.
    public var role: Role
    /// The file's path as given.
    public var path: String
    /// What is wrong with it.
    public var reason: String

    /// Creates an error about one file.
    public init(role: Role, path: String, reason: String) {
        self.role = role
        self.path = path
        self.reason = reason
    }

    /// What the file is for, in words.
    public var roleName: String {
        switch role {
        case .certificate: "TLS certificate"
        case .privateKey: "TLS private key"
        case .clientCA: "TLS client CA"
        }
    }

    public var description: String { "\(roleName) \(path): \(reason)" }
}
