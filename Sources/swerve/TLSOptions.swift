import ArgumentParser
import SwerveTLS

/// `--tls-cert`, `--tls-key` and `--tls-client-ca`: TLS on every listener of `swerve serve`, and
/// mutual TLS with a client CA. Without them every listener serves plaintext.
struct TLSOptions: ParsableArguments {
    @Option(name: .customLong("tls-cert"), help: ArgumentHelp("PEM certificate chain (the server's certificate first): with --tls-key, every HTTP listener and the gRPC listener serve TLS only. Reread with the key on SIGHUP: new connections get the new certificate, open ones keep theirs.", valueName: "file"))
    var certificate: String?

    @Option(name: .customLong("tls-key"), help: ArgumentHelp("PEM private key of --tls-cert (unencrypted).", valueName: "file"))
    var privateKey: String?

    @Option(name: .customLong("tls-client-ca"), help: ArgumentHelp("PEM certificate authorities for mutual TLS: every listener then requires a client certificate signed by one of them (read once at start).", valueName: "file"))
    var clientCA: String?

    func validate() throws {
        switch (certificate, privateKey) {
        case (.some(let certificate), nil):
            throw ValidationError("--tls-cert \(certificate) needs --tls-key (the certificate's private key)")
        case (nil, .some(let privateKey)):
            throw ValidationError("--tls-key \(privateKey) needs --tls-cert (the certificate it belongs to)")
        case (nil, nil) where clientCA != nil:
            throw ValidationError("--tls-client-ca \(clientCA ?? "") needs --tls-cert and --tls-key (mutual TLS is TLS with client certificates)")
        default: break
        }
    }

    /// The files read and checked, or nil when TLS is off. Throws a ``StartupFailure`` naming the
    /// flag and the file that cannot be used.
    func load() throws -> ServerTLS? {
        guard let certificate, let privateKey else { return nil }
        do {
            return try ServerTLS(files: TLSFiles(certificate: certificate, privateKey: privateKey, clientCA: clientCA))
        } catch {
            let flag = switch error.role {
            case .certificate: "--tls-cert"
            case .privateKey: "--tls-key"
            case .clientCA: "--tls-client-ca"
            }
            throw StartupFailure("cannot serve TLS: \(flag) \(error.path): \(error.reason)")
        }
    }
}
