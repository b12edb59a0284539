import NIOCertificateReloading
import NIOSSL
import Synchronization

/// The server certificate every new TLS handshake uses, swapped as a whole when the files are
/// read again.
///
/// Each handshake asks for ``sslContextConfigurationOverride`` (NIOSSL's context callback, set by
/// `TLSConfiguration.setCertificateReloader`), so a new certificate applies to the next
/// handshake; connections already established keep the session they negotiated.
public final class ReloadableCertificate: CertificateReloader {
    private let files: TLSFiles
    private let state: Mutex<ServerCertificate>

    /// Reads the certificate and key of `files`; throws a ``TLSFileError`` when they cannot be used.
    public init(files: TLSFiles) throws(TLSFileError) {
        self.files = files
        self.state = Mutex(try ServerCertificate.load(files))
    }

    /// The certificate new handshakes use.
    public var current: ServerCertificate { state.withLock { $0 } }

    /// Reads the files again and, when they hold a usable certificate and matching key, makes
    /// them the ones new handshakes use and returns them. When they do not, throws a
    /// ``TLSFileError`` and keeps the certificate in use.
    @discardableResult
    public func reload() throws(TLSFileError) -> ServerCertificate {
        let certificate = try ServerCertificate.load(files)
        state.withLock { $0 = certificate }
        return certificate
    }

    /// The current chain and key, for NIOSSL to apply to a handshake.
    public var sslContextConfigurationOverride: NIOSSLContextConfigurationOverride {
        current.contextOverride
    }
}
