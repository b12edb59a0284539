#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GRPCNIOTransportHTTP2
import SwerveCore

extension GRPCFrontend {
    /// The address to bind for a host (an IP address or a name such as `localhost`) and port,
    /// resolved once at start because the transport takes only IP addresses.
    /// - Throws: `invalidArgument` when the host cannot be resolved.
    static func bindAddress(host: String, port: Int) throws -> GRPCNIOTransportCore.SocketAddress {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &result)
        guard status == 0, let info = result else {
            throw SwerveError.invalid("cannot resolve the gRPC address '\(host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(result) }
        var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let found = getnameinfo(info.pointee.ai_addr, info.pointee.ai_addrlen, &name, socklen_t(name.count), nil, 0, NI_NUMERICHOST)
        guard found == 0 else {
            throw SwerveError.invalid("cannot resolve the gRPC address '\(host)': \(String(cString: gai_strerror(found)))")
        }
        let numeric = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return info.pointee.ai_family == AF_INET6 ? .ipv6(host: numeric, port: port) : .ipv4(host: numeric, port: port)
    }
}
