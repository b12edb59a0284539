import Synchronization

/// Finding the version that serves a request, the states the repository index reports, and
/// running requests.
extension ModelManager {
    /// The version that serves a request: the one asked for, or the default version.
    /// - Throws: `notFound` for an unknown model or version, or one that was unloaded;
    ///   `unavailable` for one that is loading, unloading or failed.
    public func resolve(_ name: String, version: Int?) throws -> ServedVersion {
        try models.withLock { models in
            guard let slot = models[name] else {
                throw SwerveError.notFound("Request for unknown model: '\(name)' is not found")
            }
            if let version {
                switch slot.versions[version] {
                case .ready(let served): return served
                case nil:
                    throw SwerveError.notFound("Request for unknown model: '\(name)' version \(version) is not found")
                case .unloaded:
                    throw SwerveError.notFound("Request for unknown model: '\(name)' version \(version) is not loaded (it was unloaded)")
                case let state?:
                    throw SwerveError.unavailable("model '\(name)' version \(version) is not ready: \(state.modelState.reason)")
                }
            }
            if let served = slot.defaultServed { return served }
            if let failure = slot.failure {
                throw SwerveError.unavailable("model '\(name)' is not ready: \(failure)")
            }
            if slot.isUnloaded {
                throw SwerveError.notFound("Request for unknown model: '\(name)' is not loaded (it was unloaded)")
            }
            let reasons = slot.versions.sorted { $0.key < $1.key }.map { "version \($0.key): \($0.value.modelState.reason)" }
            throw SwerveError.unavailable("model '\(name)' is not ready: " + (reasons.isEmpty ? "not loaded" : reasons.joined(separator: "; ")))
        }
    }

    /// Ready versions of a model, ascending.
    public func readyVersions(_ name: String) -> [Int] {
        models.withLock { $0[name]?.readyVersions ?? [] }
    }

    /// The version requests without a version go to now, if any is ready.
    public func defaultVersion(_ name: String) -> Int? {
        models.withLock { $0[name]?.defaultServed?.version }
    }

    /// Every known model version with its state, sorted by name and version.
    public func statuses() -> [ModelVersionStatus] {
        models.withLock { models in
            models.sorted { $0.key < $1.key }.flatMap { name, slot -> [ModelVersionStatus] in
                if slot.versions.isEmpty, let failure = slot.failure {
                    return [ModelVersionStatus(name: name, version: nil, state: .failed(failure))]
                }
                return slot.versions.sorted { $0.key < $1.key }.map {
                    ModelVersionStatus(name: name, version: $0.key, state: $0.value.modelState, memoryBytes: $0.value.served?.memoryBytes)
                }
            }
        }
    }

    /// True when no model is loading.
    public var isSettled: Bool {
        models.withLock { models in
            models.values.allSatisfy { slot in
                !slot.versions.values.contains {
                    if case .loading = $0 { return true }
                    return false
                }
            }
        }
    }

    // MARK: - Inference

    /// Runs a request on the version it names, or on the default version (loaded first in lazy mode).
    public func infer(_ request: InferenceRequest) async throws -> InferenceResponse {
        try await infer(request, on: try await acquire(request.modelName, version: request.modelVersion))
    }

    /// Runs a request on a version found before (with ``acquire(_:version:)``).
    ///
    /// A request that finds its version retiring between the lookup and the queue goes to the
    /// version serving now instead of failing: the one that replaced it (a reload, or a new
    /// default version for a request without a version) or, in lazy mode, the same version
    /// loaded again after an eviction.
    public func infer(_ request: InferenceRequest, on served: ServedVersion) async throws -> InferenceResponse {
        var served = served
        var attempts = 1
        while true {
            do {
                return try await InferencePipeline.run(request, on: served)
            } catch let error as SwerveError where error.code == .unavailable && served.pool.isRetiring
                && (request.modelVersion == nil || loadsOnDemand) && attempts < Self.retiredVersionAttempts {
                let current = try await acquire(request.modelName, version: request.modelVersion)
                guard current.pool !== served.pool else { throw error }
                served = current
                attempts += 1
            }
        }
    }

    /// How many versions a request tries when the ones it finds keep retiring under it (each
    /// reload can be evicted again before the request reaches it when the budget is tight).
    static let retiredVersionAttempts = 4
}
