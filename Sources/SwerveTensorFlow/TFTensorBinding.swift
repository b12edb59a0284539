import SwerveCore

/// A tensor a signature declares, tied to the graph: its description under the signature's key
/// (`x`), and the operation output it is (`serving_default_x:0` is output 0 of the operation
/// `serving_default_x`).
struct TFTensorBinding {
    /// The name (the signature's key), data type and shape.
    let spec: TensorSpec
    /// The `TF_Operation*`, owned by the graph.
    let operation: OpaquePointer
    /// Which of the operation's outputs.
    let index: Int32
    /// The graph's name for the tensor, for messages: `serving_default_x:0`.
    let tensorName: String
}
