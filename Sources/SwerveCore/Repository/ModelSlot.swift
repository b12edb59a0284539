import Synchronization

/// The state of one version, for the repository index and for error messages.
public struct ModelVersionStatus: Sendable, Equatable {
    /// The model name.
    public var name: String
    /// The version, or `nil` when the model failed before any version was known.
    public var version: Int?
    /// The version's state.
    public var state: ModelState
}

extension ModelManager {
    /// One version's place in its life. Transitions:
    /// - none, `unloaded` or `failed` → `loading`, when a load selects the version;
    /// - `loading` → `ready`, once it loaded and warmed up; → `failed`, when it did not;
    /// - `ready` → `ready` with a new ``ServedVersion`` when a reload replaces it (the old one
    ///   finishes its requests and goes; a failed reload leaves the old one serving);
    /// - `ready` → `unloading`, when unloaded or no longer selected; → `unloaded`, once its
    ///   queued and running requests have finished.
    enum VersionState {
        case loading
        case ready(ServedVersion)
        case unloading
        case unloaded
        case failed(String)

        /// The served version, when ready.
        var served: ServedVersion? {
            if case .ready(let served) = self { return served }
            return nil
        }

        /// The state as the repository index reports it.
        var modelState: ModelState {
            switch self {
            case .loading: .loading
            case .ready: .ready
            case .unloading: .unloading
            case .unloaded: .unloaded
            case .failed(let reason): .failed(reason)
            }
        }
    }

    /// A model: its versions' states and what concerns the model as a whole.
    struct ModelSlot {
        var versions: [Int: VersionState] = [:]
        /// A failure that concerns the whole model (its configuration, no versions).
        var failure: String?
        /// What the model was last loaded from, to notice changes when polling.
        var source: Source?
        /// The version a request without a version goes to, when set; else the highest ready one.
        var defaultVersion: Int?
        /// A folder of uploaded model files this model is served from, deleted when no longer used.
        var uploadRoot: String?

        struct Source: Equatable {
            var configText: String?
            var versions: [Int]
            var fingerprint: String
            var overridden: Bool
        }

        /// Ready versions, ascending.
        var readyVersions: [Int] {
            versions.compactMap { $0.value.served == nil ? nil : $0.key }.sorted()
        }

        /// The version a request without a version goes to: the default one, else the highest ready.
        var defaultServed: ServedVersion? {
            if let preferred = defaultVersion, let served = versions[preferred]?.served { return served }
            var best: ServedVersion?
            for state in versions.values {
                if let served = state.served, served.version > (best?.version ?? Int.min) { best = served }
            }
            return best
        }

        /// True when every version the model ever had has been unloaded (and none failed on its own).
        var isUnloaded: Bool {
            failure == nil && !versions.isEmpty && versions.values.allSatisfy {
                if case .unloaded = $0 { return true }
                return false
            }
        }
    }
}
