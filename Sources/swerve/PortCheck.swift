#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

/// Checks, before any model loads, that every listener's address and port can be bound, so a port
/// in use is one clear error naming the listener and its flag instead of a failure after loading.
enum PortCheck {
    /// One listener the server will open.
    struct Listener {
        var name: String
        var flag: String
        var address: String
        var port: Int
    }

    /// Throws a ``StartupFailure`` for the first listener that cannot be bound.
    static func ensureAvailable(_ listeners: [Listener]) throws {
        for listener in listeners where listener.port != 0 {
            if let problem = bindProblem(address: listener.address, port: listener.port) {
                throw StartupFailure(
                    "cannot listen on \(listener.address):\(listener.port) for the \(listener.name) (\(listener.flag)): \(problem); choose another port with \(listener.flag), or 0 to turn it off")
            }
        }
    }

    private static func bindProblem(address: String, port: Int) -> String? {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(address, String(port), &hints, &result)
        guard status == 0, let info = result else {
            return "cannot resolve the address (\(String(cString: gai_strerror(status))))"
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            return String(cString: strerror(errno))
        }
        return nil
    }
}
