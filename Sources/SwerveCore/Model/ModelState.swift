/// Where one model version is in its life: loading → ready → unloading → unloaded, or failed
/// with the reason.
public enum ModelState: Sendable, Equatable {
    case loading
    case ready
    case unloading
    case unloaded
    case failed(String)

    /// The state's name as Triton's repository index writes it.
    public var name: String {
        switch self {
        case .loading: "LOADING"
        case .ready: "READY"
        case .unloading: "UNLOADING"
        case .unloaded, .failed: "UNAVAILABLE"
        }
    }

    /// Why the version is not ready, or "" when it is.
    public var reason: String {
        switch self {
        case .loading: "loading"
        case .ready: ""
        case .unloading: "unloading"
        case .unloaded: "unloaded"
        case .failed(let reason): reason
        }
    }
}
