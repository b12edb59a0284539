import GRPCNIOTransportHTTP2
import SwerveTLS

extension GRPCFrontend {
    /// The transport security of the gRPC listener: plaintext without `tls`; otherwise TLS 1.2 or
    /// later with ALPN `grpc-exp` and `h2` (grpc C-core clients offer `h2`), the current
    /// certificate of `tls` on each handshake (a reload reaches new connections), and under
    /// mutual TLS a client certificate required and verified against the client CA.
    static func transportSecurity(_ tls: ServerTLS?) throws -> HTTP2ServerTransport.Posix.TransportSecurity {
        guard let tls else { return .plaintext }
        guard let clientCAPEM = tls.clientCAPEM else {
            return try .tls(certificateReloader: tls.certificate)
        }
        return try .mTLS(certificateReloader: tls.certificate) {
            $0.trustRoots = .certificates([.bytes(clientCAPEM, format: .pem)])
            $0.clientCertificateVerification = .noHostnameVerification
        }
    }
}
