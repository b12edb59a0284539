import Logging
import ServiceLifecycle
import UnixSignals

/// Reads the TLS certificate and key again on each SIGHUP, until graceful shutdown.
///
/// New handshakes then use the new certificate; connections already open carry on with theirs.
/// A reload that fails (a file missing, not PEM, a key not matching) is logged as an error and
/// the certificate in use stays. SIGHUP is trapped from the moment the service is created, so
/// create it before the listeners start: untrapped, SIGHUP would end the process.
public struct TLSReloadService: Service {
    private let tls: ServerTLS
    private let signals: UnixSignalsSequence
    private let logger: Logger

    /// Creates the service and starts trapping SIGHUP.
    public init(tls: ServerTLS, logger: Logger) async {
        self.tls = tls
        self.signals = await UnixSignalsSequence(trapping: .sighup)
        self.logger = logger
    }

    /// Reloads on each SIGHUP until graceful shutdown.
    public func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            reload()
        }
    }

    /// Reads the files again, logging the outcome.
    func reload() {
        do {
            let certificate = try tls.certificate.reload()
            logger.notice("SIGHUP: TLS certificate reloaded from \(tls.files.certificate) (serial \(certificate.serialNumber)); new connections use it")
        } catch {
            logger.error("SIGHUP: TLS certificate not reloaded, still serving serial \(tls.certificate.current.serialNumber): \(error)")
        }
    }
}
