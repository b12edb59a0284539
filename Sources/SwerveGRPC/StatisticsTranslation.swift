import SwerveCore

/// Core statistics as `ModelStatistics` messages, with Triton's fields and meanings.
enum StatisticsTranslation {
    /// The message for one model version's statistics.
    static func message(from statistics: ModelStatistics) -> Inference_ModelStatistics {
        var message = Inference_ModelStatistics()
        message.name = statistics.name
        message.version = String(statistics.version)
        message.lastInference = statistics.lastInference
        message.inferenceCount = statistics.inferenceCount
        message.executionCount = statistics.executionCount
        let inference = statistics.inference
        message.inferenceStats = .with {
            $0.success = duration(inference.success)
            $0.fail = duration(inference.fail)
            $0.queue = duration(inference.queue)
            $0.computeInput = duration(inference.computeInput)
            $0.computeInfer = duration(inference.computeInfer)
            $0.computeOutput = duration(inference.computeOutput)
            $0.cacheHit = duration(inference.cacheHit)
            $0.cacheMiss = duration(inference.cacheMiss)
        }
        if statistics.memoryBytes > 0 {
            message.memoryUsage = [.with {
                $0.type = "CPU"
                $0.id = 0
                $0.byteSize = statistics.memoryBytes
            }]
        }
        message.batchStats = statistics.batches.map { batch in
            .with {
                $0.batchSize = UInt64(batch.batchSize)
                $0.computeInput = duration(batch.computeInput)
                $0.computeInfer = duration(batch.computeInfer)
                $0.computeOutput = duration(batch.computeOutput)
            }
        }
        return message
    }

    private static func duration(_ value: StatisticDuration) -> Inference_StatisticDuration {
        .with {
            $0.count = value.count
            $0.ns = value.nanoseconds
        }
    }
}
