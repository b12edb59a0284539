/// Where one model version is in its life: loading → ready → unloading → unloaded, or failed
/// with the reason. With on-demand loading (`--model-control-mode lazy`) a version is also
/// `notLoaded` (indexed from the repository, loads on its first request) or `evicted` (unloaded to
/// keep within the memory budget; loads again on its next request).
public enum ModelState: Sendable, Hashable {
    case notLoaded
    case loading
    case ready
    case unloading
    case unloaded
    case evicted
    case failed(String)

    /// The state's name as Triton's repository index writes it.
    public var name: String {
        switch self {
        case .loading: "LOADING"
        case .ready: "READY"
        case .unloading: "UNLOADING"
        case .notLoaded, .unloaded, .evicted, .failed: "UNAVAILABLE"
        }
    }

    /// Why the version is not ready, or "" when it is.
    public var reason: String {
        switch self {
        case .notLoaded: "not loaded"
        case .loading: "loading"
        case .ready: ""
        case .unloading: "unloading"
        case .unloaded: "unloaded"
        case .evicted: "evicted"
        case .failed(let reason): reason
        }
    }
}
