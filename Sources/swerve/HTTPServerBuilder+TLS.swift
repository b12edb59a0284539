import HummingbirdCore
import HummingbirdTLS
import SwerveTLS

extension HTTPServerBuilder {
    /// `base` behind TLS with the current certificate of `tls` on each handshake, or `base`
    /// itself when `tls` is nil.
    static func swerveTLS(_ base: HTTPServerBuilder, tls: ServerTLS?) throws -> HTTPServerBuilder {
        guard let tls else { return base }
        return try .tls(base, tlsConfiguration: tls.httpConfiguration())
    }
}
