import Foundation
import Logging

/// Loads one model version from its folder: the instances the configuration asks for, the
/// completed configuration, the warm-up, the labels and the preprocessor, and starts the pool
/// that serves it. Everything that can fail happens before the pool takes requests.
///
/// The memory a version takes is measured here: the bytes the process's allocator hands out
/// (``ModelManagerOptions/allocatedBytes``, by default ``ProcessMemory/allocatedBytes()``) after the load and the warm-up runs, once what they freed
/// has been given back, less the bytes before. The model manager runs one load at a time, so the
/// difference is this version's (requests running meanwhile add their short-lived buffers).
struct VersionLoader: Sendable {
    let backends: BackendSet
    let options: ModelManagerOptions
    let logger: Logger

    /// Loads `version` of `entry` with the configuration `parsed` (nil: none given).
    /// - Throws: ``SwerveError`` saying what is wrong with the file or the configuration.
    func load(entry: ModelRepository.Entry, version: Int, parsed: ModelConfigText.Parsed?) async throws -> ServedVersion {
        let backend = try backends.select(config: parsed?.config, versionPath: entry.versionPath(version))
        let filename = parsed.flatMap { $0.config.defaultModelFilename.isEmpty ? nil : $0.config.defaultModelFilename }
            ?? backend.defaultModelFilename
        try RepositoryPath.checkFileName(filename, field: "default_model_filename")
        let modelPath = entry.versionPath(version) + "/" + filename
        guard FileManager.default.fileExists(atPath: modelPath) else {
            throw SwerveError.invalid("model file '\(modelPath)' not found")
        }
        // A limit parameter that is not a number fails the load before any work.
        let limits = try options.limits.applying(parsed?.config ?? Inference_ModelConfig())
        let allocatedBefore = options.allocatedBytes()
        let groups = parsed?.config.instanceGroup ?? []
        let instanceCount = max(1, groups.reduce(0) { $0 + max(1, Int($1.count)) })
        let threads = options.intraOpThreads ?? max(1, options.cpuBudget / instanceCount)
        let instanceOptions = InstanceOptions(intraOpThreads: threads, interOpThreads: 1, config: parsed?.config)
        let name = entry.name

        let first = try await Blocking.run { try backend.loadInstance(modelPath: modelPath, options: instanceOptions) }
        let completed = try options.completion.complete(parsed, modelName: name, signature: first.signature, backend: backend)
        var instances: [any ModelInstance] = [first]
        for _ in 1..<max(1, Int(completed.config.instanceGroup.reduce(0) { $0 + $1.count })) {
            instances.append(try await Blocking.run { try backend.loadInstance(modelPath: modelPath, options: instanceOptions) })
        }
        // Every instance is warm before the version is ready.
        let logger = self.logger
        for instance in instances {
            try await Blocking.run { try Warmup.run(instance, config: completed.config, io: completed.io, logger: logger) }
        }
        let labels = try labels(for: completed.config, in: entry)
        let preprocessor = try options.makePreprocessor?(completed.config)
        let configuredQueue = Int(completed.config.dynamicBatching.defaultQueuePolicy.maxQueueSize)
        let pool = InstancePool(
            instances: instances, maxQueueSize: configuredQueue > 0 ? configuredQueue : options.defaultMaxQueueSize,
            policy: BatchPolicy(completed.config),
            label: "'\(name)' version \(version)", statistics: StatisticsRecorder(name: name, version: version),
            clock: options.clock)
        Malloc.releaseFreedMemory()  // what parsing the model file and the warm-up freed
        let memoryBytes = max(0, (options.allocatedBytes() ?? 0) - (allocatedBefore ?? 0))
        return ServedVersion(
            name: name, version: version, config: completed.config, io: completed.io,
            unsupportedOutputs: first.signature.unsupportedOutputs, labels: labels,
            preprocessor: preprocessor, memoryBytes: memoryBytes, pool: pool,
            admission: ModelAdmission(limits: limits, label: "'\(name)' version \(version)", clock: options.clock))
    }

    /// Label files per output: `label_filename` from the config, else the model's `labels.txt`.
    private func labels(for config: Inference_ModelConfig, in entry: ModelRepository.Entry) throws -> [String: [String]] {
        let shared = Classification.loadLabels(path: entry.path + "/labels.txt")
        var labels: [String: [String]] = [:]
        for (index, output) in config.output.enumerated() {
            if output.labelFilename.isEmpty {
                labels[output.name] = shared
            } else {
                try RepositoryPath.checkFileName(output.labelFilename, field: "output[\(index)].label_filename")
                guard let loaded = Classification.loadLabels(path: entry.path + "/" + output.labelFilename) else {
                    throw SwerveError.invalid("config field 'output[\(index)].label_filename': cannot read '\(entry.path)/\(output.labelFilename)'")
                }
                labels[output.name] = loaded
            }
        }
        return labels
    }

    /// `inputs x FP32 [-1, 16]; outputs y FP32 [-1, 16]; max_batch_size 8`.
    static func describe(_ io: ModelIO) -> String {
        let inputs = io.inputs.map { "\($0.name) \($0.dataType.rawValue) \(Shape.describe($0.shape))" }.joined(separator: ", ")
        let outputs = io.outputs.map { "\($0.name) \($0.dataType.rawValue) \(Shape.describe($0.shape))" }.joined(separator: ", ")
        return "inputs \(inputs); outputs \(outputs); max_batch_size \(io.maxBatchSize)"
    }
}
