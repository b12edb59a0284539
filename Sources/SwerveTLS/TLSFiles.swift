/// The PEM files a TLS listener is served from: the server's certificate chain and private key,
/// and, for mutual TLS, the certificate authorities whose client certificates are accepted.
public struct TLSFiles: Sendable, Equatable {
    /// The server's certificate chain in PEM: its own certificate first, then any intermediates.
    public var certificate: String
    /// The private key of the server's certificate in PEM (unencrypted).
    public var privateKey: String
    /// Certificate authorities in PEM that client certificates must chain to; nil serves TLS
    /// without asking clients for a certificate.
    public var clientCA: String?

    /// Creates the set of files.
    public init(certificate: String, privateKey: String, clientCA: String? = nil) {
        self.certificate = certificate
        self.privateKey = privateKey
        self.clientCA = clientCA
    }
}
