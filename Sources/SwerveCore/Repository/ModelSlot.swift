import Synchronization

/// What a loaded version declared: kept after the version is unloaded or evicted, so that its
/// metadata and configuration answer without loading it again.
struct VersionDescription: Sendable {
    var config: Inference_ModelConfig
    var io: ModelIO
}

/// The state of one version, for the repository index and for error messages.
public struct ModelVersionStatus: Sendable, Equatable {
    /// The model name.
    public var name: String
    /// The version, or `nil` when the model failed before any version was known.
    public var version: Int?
    /// The version's state.
    public var state: ModelState
    /// The memory the version took when it loaded, while it is loaded.
    public var memoryBytes: Int?
}

extension ModelManager {
    /// One version's place in its life. Transitions:
    /// - none → `indexed`, when on-demand loading indexes the repository;
    /// - none, `indexed`, `unloaded`, `evicted` or `failed` → `loading`, when a load selects the
    ///   version (on demand: its first request);
    /// - `loading` → `ready`, once it loaded and warmed up; → `failed`, when it did not;
    /// - `ready` → `ready` with a new ``ServedVersion`` when a reload replaces it (the old one
    ///   finishes its requests and goes; a failed reload leaves the old one serving);
    /// - `ready` → `unloading`, when unloaded or no longer selected; → `unloaded`, once its
    ///   queued and running requests have finished;
    /// - `ready` → `evicted`, when the memory budget needs its room and it has no request queued
    ///   or running (at once: an idle version has nothing to finish).
    enum VersionState {
        case indexed
        case loading
        case ready(ServedVersion)
        case unloading
        case unloaded
        case evicted
        case failed(String)

        /// The served version, when ready.
        var served: ServedVersion? {
            if case .ready(let served) = self { return served }
            return nil
        }

        /// The state as the repository index reports it.
        var modelState: ModelState {
            switch self {
            case .indexed: .notLoaded
            case .loading: .loading
            case .ready: .ready
            case .unloading: .unloading
            case .unloaded: .unloaded
            case .evicted: .evicted
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
        /// Never evicted to make room (`--load-model` in lazy mode, or the `pinned` parameter).
        var pinned = false
        /// On-demand loads under way, by version: requests for the same version wait on one load.
        var pendingLoads: [Int: Task<ServedVersion, any Error>] = [:]
        /// What each version measured when it last loaded, kept after it goes: the room to make
        /// before loading it again.
        var measuredBytes: [Int: Int] = [:]
        /// Versions refused for the memory budget: their next request asks the budget again
        /// (other failures wait for the model's files to change).
        var refusedForMemory: Set<Int> = []
        /// The configuration and inputs and outputs of versions loaded before, kept after they
        /// go, so that metadata and configuration answer without loading them again.
        var descriptions: [Int: VersionDescription] = [:]

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

        /// The version a request without a version loads on demand: the default one, else the
        /// highest version that has not failed, else the highest.
        var defaultTarget: Int? {
            if let preferred = defaultVersion, versions[preferred] != nil { return preferred }
            let usable = versions.filter {
                if case .failed = $0.value { return false }
                return true
            }
            return usable.keys.max() ?? versions.keys.max()
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
