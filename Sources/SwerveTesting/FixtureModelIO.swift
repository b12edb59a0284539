import SwerveCore

/// Model signatures that tests and fuzz targets validate requests against.
public enum FixtureModelIO {
    /// Batching up to 8; INT32 `INPUT0` [-1, 16], FP32 `INPUT1` [-1, -1] and an optional BYTES
    /// `TEXT` [-1, 1]; INT32 `OUTPUT0` [-1, 16]: every kind of input the request readers produce.
    public static let threeInputs = ModelIO(
        maxBatchSize: 8,
        inputs: [
            TensorSpec(name: "INPUT0", dataType: .int32, shape: [-1, 16]),
            TensorSpec(name: "INPUT1", dataType: .fp32, shape: [-1, -1]),
            TensorSpec(name: "TEXT", dataType: .bytes, shape: [-1, 1]),
        ],
        outputs: [TensorSpec(name: "OUTPUT0", dataType: .int32, shape: [-1, 16])],
        optionalInputs: ["TEXT"])
}
