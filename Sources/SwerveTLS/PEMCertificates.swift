import NIOSSL

/// Parses PEM certificates, with errors that name the file.
enum PEMCertificates {
    /// The certificates in `bytes`, in order; throws a ``TLSFileError`` when there are none or one
    /// is malformed.
    static func parse(_ bytes: [UInt8], role: TLSFileError.Role, path: String) throws(TLSFileError) -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
        } catch {
            throw TLSFileError(role: role, path: path, reason: "not a PEM certificate file (\(error))")
        }
        guard !certificates.isEmpty else {
            throw TLSFileError(role: role, path: path, reason: "no PEM certificate (-----BEGIN CERTIFICATE-----) in it")
        }
        return certificates
    }
}
