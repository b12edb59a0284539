import Crypto
import Foundation
import SwiftASN1
import X509

/// Certificates made in the test: a CA and server certificates it signs, written as PEM files to
/// a temporary folder.
struct TestCertificates {
    let folder: URL
    private let caKey = P256.Signing.PrivateKey()
    private let caName: DistinguishedName

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        caName = try DistinguishedName { CommonName("Swerve test CA") }
    }

    /// Removes the folder.
    func remove() {
        try? FileManager.default.removeItem(at: folder)
    }

    /// The path of `name` in the folder.
    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// Writes `text` to `name` and returns its path.
    @discardableResult
    func write(_ text: String, to name: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    /// Writes a server certificate for localhost with `serial`, signed by the CA, and its key to
    /// `<name>.crt` and `<name>.key`; returns their paths.
    func writeServerCertificate(_ name: String, serial: Int) throws -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(serial),
            publicKey: Certificate.PublicKey(key.publicKey),
            notValidBefore: now - 60, notValidAfter: now + 3600,
            issuer: caName, subject: try DistinguishedName { CommonName("localhost") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { SubjectAlternativeNames([.dnsName("localhost")]) },
            issuerPrivateKey: Certificate.PrivateKey(caKey))
        let certificatePath = try write(try certificate.serializeAsPEM().pemString + "\n", to: "\(name).crt")
        let keyPath = try write(key.pemRepresentation + "\n", to: "\(name).key")
        return (certificatePath, keyPath)
    }

    /// Writes the CA's certificate to `name` and returns its path.
    func writeCA(to name: String) throws -> String {
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(1),
            publicKey: Certificate.PublicKey(caKey.publicKey),
            notValidBefore: now - 60, notValidAfter: now + 3600,
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil)) },
            issuerPrivateKey: Certificate.PrivateKey(caKey))
        return try write(try certificate.serializeAsPEM().pemString + "\n", to: name)
    }
}
