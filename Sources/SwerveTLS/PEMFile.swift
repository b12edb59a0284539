#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the bytes of a small file (a PEM certificate or key), with the system's reason when it
/// cannot.
enum PEMFile {
    /// The largest file read: PEM chains and keys are a few kilobytes, a CA bundle a few hundred.
    static let maximumSize = 4 << 20

    /// The file's bytes; throws a ``TLSFileError`` for `role` naming the path and the reason.
    static func contents(of path: String, role: TLSFileError.Role) throws(TLSFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw TLSFileError(role: role, path: path, reason: "cannot open it: \(systemError())") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw TLSFileError(role: role, path: path, reason: "cannot read it: \(systemError())")
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            guard bytes.count <= maximumSize else {
                throw TLSFileError(role: role, path: path, reason: "larger than \(maximumSize >> 20) MiB, not a PEM file")
            }
        }
        guard !bytes.isEmpty else { throw TLSFileError(role: role, path: path, reason: "the file is empty") }
        return bytes
    }

    private static func systemError() -> String { String(cString: strerror(errno)) }
}
