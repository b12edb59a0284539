import ArgumentParser
import Foundation
import Logging
import SwerveCore

/// Who may call what: Triton's `--http-restricted-api` and `--grpc-restricted-protocol`, which put
/// categories of endpoints behind a header key, and the address of the TorchServe management API,
/// which listens on the loopback interface only unless told otherwise (as TorchServe's does).
struct AccessOptions: ParsableArguments {
    @Option(name: .customLong("http-restricted-api"), help: ArgumentHelp(
        "Triton's flag, repeatable: the HTTP requests of these categories must carry the header <header> with the value <key>, else 403. Categories: \(RestrictedCategory.allCases.map(\.name).joined(separator: ", ")); TorchServe's management API is model-repository; /metrics is never restricted. <key> may be file:<path> (the file's contents, trimmed) or env:<NAME> (an environment variable), so that it is not shown by ps. A category may appear in one value only.",
        valueName: "api[,api...]:header=key"))
    var httpRestrictedAPI: [String] = []

    @Option(name: .customLong("grpc-restricted-protocol"), help: ArgumentHelp(
        "Triton's flag, repeatable: the gRPC calls of these categories must carry the metadata triton-grpc-protocol-<header> with the value <key>, else PERMISSION_DENIED. Same categories and key sources as --http-restricted-api; health also covers grpc.health.v1.",
        valueName: "protocol[,protocol...]:header=key"))
    var grpcRestrictedProtocol: [String] = []

    @Option(name: .customLong("torchserve-management-address"), help: ArgumentHelp(
        "Address the TorchServe management API (--torchserve-management-port) listens on. Default 127.0.0.1, as TorchServe's: only this machine can register, scale and unregister models; give 0.0.0.0 to open it to the network (then consider --http-restricted-api=model-repository:...).",
        valueName: "address"))
    var torchserveManagementAddress: String = "127.0.0.1"

    func validate() throws {
        for (values, flag) in [(httpRestrictedAPI, RestrictionFlag.httpRestrictedAPI), (grpcRestrictedProtocol, .grpcRestrictedProtocol)] {
            do {
                _ = try RestrictionSpec.parse(values, flag: flag)
            } catch {
                throw ValidationError(SwerveError.clientMessage(error))
            }
        }
    }

    /// The restrictions of each protocol with their keys read (from the command line, files or
    /// the environment).
    /// - Throws: ``StartupFailure`` when a key file or variable is missing or empty.
    func restrictions(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (http: RestrictedFeatures, grpc: RestrictedFeatures) {
        do {
            let http = try RestrictedFeatures(
                RestrictionSpec.parse(httpRestrictedAPI, flag: .httpRestrictedAPI), flag: .httpRestrictedAPI, environment: environment)
            let grpc = try RestrictedFeatures(
                RestrictionSpec.parse(grpcRestrictedProtocol, flag: .grpcRestrictedProtocol), flag: .grpcRestrictedProtocol, environment: environment)
            return (http, grpc)
        } catch {
            throw StartupFailure(SwerveError.clientMessage(error))
        }
    }

    /// Logs which categories each protocol restricts and with which header (never the key).
    static func log(_ restrictions: (http: RestrictedFeatures, grpc: RestrictedFeatures), logger: Logger) {
        if let summary = restrictions.http.summary { logger.notice("HTTP restricted APIs: \(summary)") }
        if let summary = restrictions.grpc.summary { logger.notice("gRPC restricted protocols: \(summary)") }
    }
}
