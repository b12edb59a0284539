#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the key of a restriction comes from: given on the command line (Triton's only way),
/// read from a file, or read from an environment variable, so that it need not sit in the
/// process's arguments where `ps` shows it to every user of the machine.
///
/// Spelled after the `=` of `<header>=<key>`: `file:<path>` reads the file (its first and last
/// white space trimmed), `env:<NAME>` reads the variable (likewise trimmed); anything else is
/// the key itself.
public enum RestrictionKeySource: Sendable, Equatable, CustomStringConvertible {
    /// The key itself, as Triton takes it.
    case literal(String)
    /// A file holding the key.
    case file(path: String)
    /// An environment variable holding the key.
    case environment(name: String)

    /// The longest key file read; a longer file is refused rather than read (a mistaken path
    /// such as `/dev/zero` must not hang or fill memory at start).
    public static let maxFileBytes = 4096

    /// The source that `text` (what follows `<header>=`) names.
    public init(parsing text: String) {
        if text.hasPrefix("file:") {
            self = .file(path: String(text.dropFirst("file:".count)))
        } else if text.hasPrefix("env:") {
            self = .environment(name: String(text.dropFirst("env:".count)))
        } else {
            self = .literal(text)
        }
    }

    /// Where the key came from, for the startup log: never the key.
    public var description: String {
        switch self {
        case .literal: "given on the command line"
        case .file(let path): "read from file \(path)"
        case .environment(let name): "read from $\(name)"
        }
    }

    /// The key.
    /// - Parameter environment: the process's environment (a dictionary, so tests can give one).
    /// - Throws: ``SwerveError`` (`invalidArgument`) naming the flag when the file cannot be read
    ///   or is too long, the variable is not set, or the key is empty or unfit for a header value.
    public func resolve(for flag: RestrictionFlag, environment: [String: String]) throws -> String {
        let key: String
        switch self {
        case .literal(let text):
            key = text
        case .file(let path):
            guard !path.isEmpty else { throw SwerveError.invalid("--\(flag.name): 'file:' must be followed by the path of the key file") }
            key = Self.trimmed(try Self.readKeyFile(path, flag: flag))
            guard !key.isEmpty else { throw SwerveError.invalid("--\(flag.name): the key file \(path) is empty") }
        case .environment(let name):
            guard !name.isEmpty else { throw SwerveError.invalid("--\(flag.name): 'env:' must be followed by the name of an environment variable") }
            guard let value = environment[name] else {
                throw SwerveError.invalid("--\(flag.name): the environment variable \(name) that should hold the key is not set")
            }
            key = Self.trimmed(value)
            guard !key.isEmpty else { throw SwerveError.invalid("--\(flag.name): the environment variable \(name) that should hold the key is empty") }
        }
        guard !key.isEmpty else { throw SwerveError.invalid("--\(flag.name): the key is empty") }
        // A header value is visible ASCII with inner spaces (RFC 9110 §5.5, gRPC's ASCII metadata);
        // a key outside that could never be sent, so no request could ever pass.
        guard key.utf8.allSatisfy({ (0x20...0x7E).contains($0) }), key.first != " ", key.last != " " else {
            throw SwerveError.invalid(
                "--\(flag.name): the key \(description) must be visible ASCII characters (with spaces only inside), as a header value must be")
        }
        return key
    }

    /// `text` without white space (spaces, tabs, line ends) at either end.
    static func trimmed(_ text: String) -> String {
        // By bytes: "\r\n" is one Character, which equals neither "\r" nor "\n".
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let bytes = Array(text.utf8)
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    /// The file's text, at most ``maxFileBytes`` bytes.
    private static func readKeyFile(_ path: String, flag: RestrictionFlag) throws -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw SwerveError.invalid("--\(flag.name): cannot open the key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: maxFileBytes + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress! + count, buffer.count - count)
            }
            if got < 0 {
                if errno == EINTR { continue }
                throw SwerveError.invalid("--\(flag.name): cannot read the key file \(path): \(String(cString: strerror(errno)))")
            }
            if got == 0 { break }
            count += got
        }
        guard count <= maxFileBytes else {
            throw SwerveError.invalid("--\(flag.name): the key file \(path) is longer than \(maxFileBytes) bytes; it should hold only the key")
        }
        guard let text = String(validating: bytes[..<count], as: UTF8.self) else {
            throw SwerveError.invalid("--\(flag.name): the key file \(path) is not UTF-8 text")
        }
        return text
    }
}
