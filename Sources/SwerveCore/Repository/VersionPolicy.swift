/// Which of a model's versions are served, as Triton's `version_policy` says.
public enum VersionPolicy: Sendable, Equatable {
    /// The highest `count` versions.
    case latest(Int)
    /// Every version.
    case all
    /// Exactly these versions (those that exist).
    case specific([Int])

    /// Reads the policy of a configuration (latest 1 when none is set).
    public init(_ config: Inference_ModelVersionPolicy) {
        switch config.policyChoice {
        case .latest(let latest)?: self = .latest(max(1, Int(latest.numVersions)))
        case .all?: self = .all
        case .specific(let specific)?: self = .specific(specific.versions.map { Int($0) })
        case nil: self = .latest(1)
        }
    }

    /// The versions to serve among `available`, ascending.
    public func select(from available: [Int]) -> [Int] {
        let sorted = available.sorted()
        switch self {
        case .latest(let count): return Array(sorted.suffix(count))
        case .all: return sorted
        case .specific(let wanted): return sorted.filter(wanted.contains)
        }
    }
}
