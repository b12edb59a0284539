import SwerveCore

/// Finds the version a TorchServe request goes to. A model or version that was unregistered is
/// gone for TorchServe clients (404, as TorchServe answers), not busy: the core reports it as not
/// ready (503), which tells clients to retry.
enum TorchServeLookup {
    /// The version asked for, or the default version.
    /// - Throws: `notFound` for an unknown or unregistered model or version, `unavailable` for
    ///   one that is loading or unloading.
    static func resolve(_ server: InferenceServer, model: String, version: Int?) throws -> ServedVersion {
        do {
            return try server.manager.resolve(model, version: version)
        } catch let error as SwerveError where error.code == .unavailable {
            let rows = server.manager.statuses().filter { $0.name == model && (version == nil || $0.version == version) }
            guard !rows.isEmpty, rows.allSatisfy({ $0.state == .unloaded }) else { throw error }
            throw SwerveError.notFound(version.map { "Model version: \($0) does not exist for model: \(model)" } ?? "Model not found: \(model)")
        }
    }
}
