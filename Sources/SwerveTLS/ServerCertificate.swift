import NIOSSL

/// A server certificate chain and its private key, read from PEM files and checked to belong
/// together.
public struct ServerCertificate: Sendable {
    /// The chain, the server's own certificate first.
    public let chain: [NIOSSLCertificate]
    /// The private key of `chain[0]`.
    public let privateKey: NIOSSLPrivateKey

    /// The leaf certificate's serial number in hex (for logs and tests).
    public var serialNumber: String {
        chain[0].serialNumber.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    /// Reads and checks the chain and key of `files`.
    ///
    /// Throws a ``TLSFileError`` naming the file when one cannot be read, holds no PEM certificate
    /// or key, or when the key is not the certificate's.
    public static func load(_ files: TLSFiles) throws(TLSFileError) -> ServerCertificate {
        let chain = try PEMCertificates.parse(PEMFile.contents(of: files.certificate, role: .certificate), role: .certificate, path: files.certificate)
        let keyBytes = try PEMFile.contents(of: files.privateKey, role: .privateKey)
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem)
        } catch {
            throw TLSFileError(role: .privateKey, path: files.privateKey, reason: "not an unencrypted PEM private key (\(error))")
        }
        // BoringSSL refuses a key that does not match the certificate when a context is made from them.
        do {
            _ = try NIOSSLContext(configuration: .makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey)))
        } catch {
            throw TLSFileError(
                role: .privateKey, path: files.privateKey,
                reason: "does not match the certificate in \(files.certificate) (\(error))")
        }
        return ServerCertificate(chain: chain, privateKey: privateKey)
    }

    /// The chain and key as the override a TLS handshake applies.
    var contextOverride: NIOSSLContextConfigurationOverride {
        var override = NIOSSLContextConfigurationOverride()
        override.certificateChain = chain.map { .certificate($0) }
        override.privateKey = .privateKey(privateKey)
        return override
    }
}
