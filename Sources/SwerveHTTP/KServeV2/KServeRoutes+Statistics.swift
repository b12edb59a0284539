import Hummingbird
import SwerveCore

/// Triton's statistics extension: `GET /v2/models[/{m}[/versions/{v}]]/stats`.
extension KServeRoutes {
    func addStatisticsRoutes(to table: RouteTable) {
        table.get("/v2/models/stats", category: .statistics) { _, _ in
            jsonResponse(StatisticsJSON.encode(try server.statistics(model: nil, version: nil)))
        }
        for prefix in ["/v2/models/:model", "/v2/models/:model/versions/:version"] {
            table.get(prefix + "/stats", category: .statistics) { _, context in
                let (name, version) = try modelAndVersion(context)
                return jsonResponse(StatisticsJSON.encode(try server.statistics(model: name, version: version)))
            }
        }
    }
}

/// Writes statistics with Triton's field names.
enum StatisticsJSON {
    static func encode(_ stats: [ModelStatistics]) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{\"model_stats\":[")
        for (index, model) in stats.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("{\"name\":")
            writer.string(model.name)
            writer.raw(",\"version\":")
            writer.string(String(model.version))
            writer.raw(",\"last_inference\":\(model.lastInference),\"inference_count\":\(model.inferenceCount),\"execution_count\":\(model.executionCount)")
            let inference = model.inference
            writer.raw(",\"inference_stats\":{")
            let phases: [(String, StatisticDuration)] = [
                ("success", inference.success), ("fail", inference.fail), ("queue", inference.queue),
                ("compute_input", inference.computeInput), ("compute_infer", inference.computeInfer),
                ("compute_output", inference.computeOutput), ("cache_hit", inference.cacheHit), ("cache_miss", inference.cacheMiss),
            ]
            write(phases, to: &writer)
            writer.raw("},\"response_stats\":{},\"batch_stats\":[")
            for (batchIndex, batch) in model.batches.enumerated() {
                if batchIndex > 0 { writer.raw(",") }
                writer.raw("{\"batch_size\":\(batch.batchSize),")
                write([("compute_input", batch.computeInput), ("compute_infer", batch.computeInfer), ("compute_output", batch.computeOutput)], to: &writer)
                writer.raw("}")
            }
            writer.raw("],\"memory_usage\":[")
            if model.memoryBytes > 0 { writer.raw("{\"type\":\"CPU\",\"id\":0,\"byte_size\":\(model.memoryBytes)}") }
            writer.raw("]}")
        }
        writer.raw("]}")
        return writer.bytes
    }

    private static func write(_ phases: [(String, StatisticDuration)], to writer: inout JSONWriter) {
        for (index, (name, duration)) in phases.enumerated() {
            if index > 0 { writer.raw(",") }
            writer.raw("\"\(name)\":{\"count\":\(duration.count),\"ns\":\(duration.nanoseconds)}")
        }
    }
}
