import NIOCertificateReloading
import NIOSSL

/// What a TLS listener serves: a reloadable certificate and, for mutual TLS, the certificate
/// authorities client certificates must chain to. Every HTTP listener and the gRPC listener share
/// one, so a reload reaches them all at once.
public struct ServerTLS: Sendable {
    /// The files it was read from.
    public let files: TLSFiles
    /// The certificate new handshakes use.
    public let certificate: ReloadableCertificate
    /// The client CA certificates, read once at start; nil when clients need no certificate.
    public let clientCA: [NIOSSLCertificate]?
    /// The client CA file's PEM bytes, for transports that take PEM (gRPC's).
    public let clientCAPEM: [UInt8]?

    /// Reads and checks every file of `files`; throws a ``TLSFileError`` naming the first file
    /// that cannot be used.
    public init(files: TLSFiles) throws(TLSFileError) {
        self.files = files
        self.certificate = try ReloadableCertificate(files: files)
        if let path = files.clientCA {
            let pem = try PEMFile.contents(of: path, role: .clientCA)
            self.clientCA = try PEMCertificates.parse(pem, role: .clientCA, path: path)
            self.clientCAPEM = pem
        } else {
            self.clientCA = nil
            self.clientCAPEM = nil
        }
    }

    /// Whether clients must present a certificate signed by ``clientCA``.
    public var requiresClientCertificate: Bool { clientCA != nil }

    /// The server configuration of an HTTP/1.1 listener: TLS 1.2 or later, ALPN `http/1.1`, the
    /// current certificate on each handshake, and a verified client certificate under mutual TLS.
    public func httpConfiguration() -> TLSConfiguration {
        let current = certificate.current
        var configuration: TLSConfiguration
        if let clientCA {
            configuration = .makeServerConfigurationWithMTLS(
                certificateChain: current.chain.map { .certificate($0) }, privateKey: .privateKey(current.privateKey),
                trustRoots: .certificates(clientCA))
        } else {
            configuration = .makeServerConfiguration(
                certificateChain: current.chain.map { .certificate($0) }, privateKey: .privateKey(current.privateKey))
        }
        configuration.minimumTLSVersion = .tlsv12
        configuration.applicationProtocols = ["http/1.1"]
        configuration.setCertificateReloader(certificate)
        return configuration
    }
}
