import Foundation
import NIOSSL
import Testing

@testable import SwerveTLS

/// The PEM files are read and checked at start, with errors naming the file, and a reload swaps
/// the certificate for new handshakes only when the new files are usable.
struct ServerTLSTests {
    /// A certificate and its key load, and the serial is the certificate's.
    @Test func matchingCertificateAndKeyLoad() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let (certificate, key) = try certificates.writeServerCertificate("server", serial: 0x1234)
        let loaded = try ServerCertificate.load(TLSFiles(certificate: certificate, privateKey: key))
        #expect(loaded.serialNumber == "1234")
        #expect(loaded.chain.count == 1)
    }

    /// A missing certificate file is an error naming it and the system's reason.
    @Test func missingCertificateIsNamed() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let (_, key) = try certificates.writeServerCertificate("server", serial: 1)
        let missing = certificates.path("absent.crt")
        #expect(throws: TLSFileError(role: .certificate, path: missing, reason: "cannot open it: No such file or directory")) {
            try ServerCertificate.load(TLSFiles(certificate: missing, privateKey: key))
        }
    }

    /// A file that holds no PEM certificate, or no PEM key, is refused with its role.
    @Test func filesThatAreNotPEMAreRefused() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let (certificate, key) = try certificates.writeServerCertificate("server", serial: 1)
        let garbage = try certificates.write("hello\n", to: "garbage.pem")
        #expect { try ServerCertificate.load(TLSFiles(certificate: garbage, privateKey: key)) } throws: {
            ($0 as? TLSFileError)?.role == .certificate && ($0 as? TLSFileError)?.path == garbage
        }
        #expect { try ServerCertificate.load(TLSFiles(certificate: certificate, privateKey: garbage)) } throws: {
            ($0 as? TLSFileError)?.role == .privateKey && ($0 as? TLSFileError)?.path == garbage
        }
        let empty = try certificates.write("", to: "empty.pem")
        #expect(throws: TLSFileError(role: .certificate, path: empty, reason: "the file is empty")) {
            try ServerCertificate.load(TLSFiles(certificate: empty, privateKey: key))
        }
    }

    /// The key of another certificate is refused, naming the key and the certificate.
    @Test func keyOfAnotherCertificateIsRefused() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let (certificate, _) = try certificates.writeServerCertificate("one", serial: 1)
        let (_, otherKey) = try certificates.writeServerCertificate("two", serial: 2)
        #expect { try ServerCertificate.load(TLSFiles(certificate: certificate, privateKey: otherKey)) } throws: { error in
            guard let error = error as? TLSFileError else { return false }
            return error.role == .privateKey && error.reason.contains("does not match the certificate in \(certificate)")
        }
    }

    /// A reload makes the new certificate the one handshakes get.
    @Test func reloadSwapsTheCertificate() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let (certificate, key) = try certificates.writeServerCertificate("server", serial: 0x11)
        let reloadable = try ReloadableCertificate(files: TLSFiles(certificate: certificate, privateKey: key))
        #expect(reloadable.current.serialNumber == "11")
        _ = try certificates.writeServerCertificate("server", serial: 0x22)
        #expect(try reloadable.reload().serialNumber == "22")
        #expect(reloadable.current.serialNumber == "22")
        guard case .certificate(let served)? = reloadable.sslContextConfigurationOverride.certificateChain?.first else {
            Issue.record("the override carries no certificate")
            return
        }
        #expect(served.serialNumber == [0x22])
    }

    /// A reload from broken files throws and keeps the certificate in use.
    @Test func failedReloadKeepsTheCertificate() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let (certificate, key) = try certificates.writeServerCertificate("server", serial: 0x11)
        let reloadable = try ReloadableCertificate(files: TLSFiles(certificate: certificate, privateKey: key))
        try certificates.write("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", to: "server.crt")
        #expect { try reloadable.reload() } throws: { ($0 as? TLSFileError)?.role == .certificate }
        #expect(reloadable.current.serialNumber == "11")
        // A new certificate with the old key is refused too.
        let (_, _) = try certificates.writeServerCertificate("other", serial: 0x33)
        try FileManager.default.removeItem(atPath: certificate)
        try FileManager.default.copyItem(atPath: certificates.path("other.crt"), toPath: certificate)
        #expect { try reloadable.reload() } throws: { ($0 as? TLSFileError)?.role == .privateKey }
        #expect(reloadable.current.serialNumber == "11")
    }

    /// The client CA file is read at start and checked; mutual TLS then asks for a client certificate.
    @Test func clientCAIsReadAndRequired() throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let (certificate, key) = try certificates.writeServerCertificate("server", serial: 1)
        let ca = try certificates.writeCA(to: "ca.crt")
        let tls = try ServerTLS(files: TLSFiles(certificate: certificate, privateKey: key, clientCA: ca))
        #expect(tls.clientCA?.count == 1)
        #expect(tls.httpConfiguration().certificateVerification == .noHostnameVerification)
        #expect(tls.httpConfiguration().applicationProtocols == ["http/1.1"])
        #expect(try ServerTLS(files: TLSFiles(certificate: certificate, privateKey: key)).httpConfiguration().certificateVerification == .none)

        let garbage = try certificates.write("nothing here\n", to: "ca-garbage.pem")
        #expect { try ServerTLS(files: TLSFiles(certificate: certificate, privateKey: key, clientCA: garbage)) } throws: {
            ($0 as? TLSFileError)?.role == .clientCA && ($0 as? TLSFileError)?.path == garbage
        }
    }
}
