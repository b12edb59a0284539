/// What a TorchScript module's `forward` declares: its arguments' names and types and what it
/// returns. It says nothing of data types or shapes, which config.pbtxt must give.
struct TorchForwardSchema: Sendable, Equatable {
    /// What `forward` returns.
    enum Returns: Sendable, Equatable {
        /// One tensor.
        case tensor
        /// A tuple of this many tensors.
        case tuple(count: Int)
        /// A list of tensors, whose length is known only when it runs.
        case list
        /// Anything else (a dict, a nested tuple, a number), with its TorchScript type.
        case other(type: String)
    }

    /// The arguments' names, `self` not counted.
    var argumentNames: [String]
    /// The arguments' TorchScript types (`"Tensor"`, `"Dict(str, Tensor)"`, ...).
    var argumentTypes: [String]
    /// What `forward` returns.
    var returns: Returns

    /// The number of tensors `forward` returns, when its type says.
    var returnCount: Int? {
        switch returns {
        case .tensor: 1
        case .tuple(let count): count
        case .list, .other: nil
        }
    }
}
