import Foundation

/// Loading within the memory budget (`--model-memory-budget`): each load runs alone and measures
/// what it took; before it, and again once its real size is known, the least recently used
/// versions that are neither pinned nor busy are evicted until the loaded versions fit. Versions
/// loaded but not yet ready (``ModelManager/unpublishedBytes``) count as loaded.
///
/// A version with a request queued or running is never evicted (``InstancePool/retireIfIdle()``
/// decides that atomically), so no request fails because of an eviction: one that found its
/// version just evicted is sent to the version loaded again (see ``infer(_:on:)``). When every
/// version that could make room is busy, the load goes ahead over the budget and the next load
/// evicts what has become idle. A version larger than the whole budget, or than what the pinned
/// versions leave of it, is refused with `insufficientMemory` (HTTP 507, gRPC RESOURCE_EXHAUSTED).
extension ModelManager {
    /// Loads one version alone (``LoadGate``), within the memory budget, and records the load's
    /// metrics. The version is not published: the caller makes it ready.
    func loadVersion(entry: ModelRepository.Entry, version: Int, parsed: ModelConfigText.Parsed?, pinned: Bool) async throws -> ServedVersion {
        try await loadGate.run {
            let started = ContinuousClock.now
            do {
                let served = try await loadWithinBudget(entry: entry, version: version, parsed: parsed, pinned: pinned)
                ModelLoadMetrics.recordLoad(model: entry.name, duration: .now - started, succeeded: true)
                return served
            } catch {
                ModelLoadMetrics.recordLoad(model: entry.name, duration: .now - started, succeeded: false)
                throw error
            }
        }
    }

    private func loadWithinBudget(entry: ModelRepository.Entry, version: Int, parsed: ModelConfigText.Parsed?, pinned: Bool) async throws -> ServedVersion {
        let name = entry.name
        guard let budget = options.memoryBudget else {
            let served = try await loader.load(entry: entry, version: version, parsed: parsed)
            models.withLock { $0[name]?.measuredBytes[version] = served.memoryBytes }
            return served
        }
        // Room for what the version took last time, else for at least its file.
        let known = models.withLock { $0[name]?.measuredBytes[version] }
        let estimate = known ?? fileSize(entry: entry, version: version, parsed: parsed)
        try checkFits(name, version: version, bytes: estimate, budget: budget, pinned: pinned, measured: known != nil)
        await makeRoom(for: estimate, sparing: name)

        let served = try await loader.load(entry: entry, version: version, parsed: parsed)
        models.withLock { $0[name]?.measuredBytes[version] = served.memoryBytes }
        do {
            try checkFits(name, version: version, bytes: served.memoryBytes, budget: budget, pinned: pinned, measured: true)
        } catch {
            await served.pool.shutdown()
            Self.dropMetrics(of: served)
            throw error
        }
        await makeRoom(for: served.memoryBytes, sparing: name)
        unpublishedBytes.withLock { $0[ObjectIdentifier(served)] = served.memoryBytes }
        return served
    }

    /// Refuses a version that cannot fit: larger than the budget, or (unpinned) than what the
    /// pinned versions leave of it.
    private func checkFits(_ name: String, version: Int, bytes: Int, budget: Int, pinned: Bool, measured: Bool) throws {
        let what = measured ? "takes \(ByteCount.describe(bytes)) when loaded" : "has a model file of \(ByteCount.describe(bytes))"
        if bytes > budget {
            throw SwerveError(
                .insufficientMemory,
                "model '\(name)' version \(version) \(what), more than the whole memory budget of \(ByteCount.describe(budget)) (--model-memory-budget)")
        }
        guard !pinned else { return }
        let pinnedBytes = models.withLock { models in
            models.filter { $0.key != name && $0.value.pinned }.values.reduce(0) { total, slot in
                total + slot.versions.values.reduce(0) { $0 + ($1.served?.memoryBytes ?? 0) }
            }
        }
        if pinnedBytes + bytes > budget {
            throw SwerveError(
                .insufficientMemory,
                "model '\(name)' version \(version) \(what), more than the memory budget of \(ByteCount.describe(budget)) (--model-memory-budget) leaves beside the pinned models, which take \(ByteCount.describe(pinnedBytes))")
        }
    }

    /// The size of a version's model file, or 0 when it cannot be read (the load will say why).
    private func fileSize(entry: ModelRepository.Entry, version: Int, parsed: ModelConfigText.Parsed?) -> Int {
        let backend = (try? backends.select(config: parsed?.config, versionPath: entry.versionPath(version))) ?? backends.primary
        let filename = parsed.flatMap { $0.config.defaultModelFilename.isEmpty ? nil : $0.config.defaultModelFilename }
            ?? backend.defaultModelFilename
        let attributes = try? FileManager.default.attributesOfItem(atPath: entry.versionPath(version) + "/" + filename)
        return (attributes?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// Evicts the least recently used idle, unpinned versions of other models until the loaded
    /// versions and `bytes` more fit in the budget, or nothing more can go.
    func makeRoom(for bytes: Int, sparing name: String) async {
        guard let budget = options.memoryBudget else { return }
        let unpublished = unpublishedBytes.withLock { $0.values.reduce(0, +) }
        let evicted: [(name: String, served: ServedVersion)] = models.withLock { models in
            var loaded = unpublished
            var candidates: [(name: String, served: ServedVersion, lastUsed: UInt64)] = []
            for (model, slot) in models {
                for state in slot.versions.values {
                    guard let served = state.served else { continue }
                    loaded += served.memoryBytes
                    if !slot.pinned && model != name { candidates.append((model, served, served.pool.lastUsedTick)) }
                }
            }
            var excess = loaded + bytes - budget
            guard excess > 0 else { return [] }
            candidates.sort { $0.lastUsed < $1.lastUsed }
            var evicted: [(name: String, served: ServedVersion)] = []
            for candidate in candidates where excess > 0 {
                guard candidate.served.pool.retireIfIdle() else { continue }
                models[candidate.name]?.versions[candidate.served.version] = .evicted
                excess -= candidate.served.memoryBytes
                evicted.append((candidate.name, candidate.served))
            }
            if excess > 0 {
                logger.warning("memory budget \(ByteCount.describe(budget)) exceeded by \(ByteCount.describe(excess)): every other version that could make room is busy or pinned")
            }
            return evicted
        }
        for (model, served) in evicted {
            await served.pool.shutdown()
            Self.dropMetrics(of: served)
            ModelLoadMetrics.recordEviction(model: model)
            logger.debug("evicted model '\(model)' version \(served.version) (\(ByteCount.describe(served.memoryBytes))) to make room")
        }
        if !evicted.isEmpty { recordMemoryTotals() }
    }

    /// Removes the series of a version that is no longer served (and not replaced by a new
    /// instance of itself, which shares them): its inference metrics and memory gauge.
    static func dropMetrics(of served: ServedVersion) {
        served.pool.statistics.metrics.destroy()
        ModelLoadMetrics.versionMemory(model: served.name, version: served.version).destroy()
    }

    /// Records a version that became ready: its memory gauge and the totals.
    func published(_ served: ServedVersion) {
        settled(served)
        ModelLoadMetrics.versionMemory(model: served.name, version: served.version).record(served.memoryBytes)
        recordMemoryTotals()
    }

    /// Stops counting a loaded version as unpublished: it was published, or dropped unpublished.
    func settled(_ served: ServedVersion) {
        unpublishedBytes.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(served)) }
    }

    /// The bytes every loaded version took, by the measurements of their loads.
    public var loadedBytes: Int {
        models.withLock { models in
            models.values.reduce(0) { total, slot in total + slot.versions.values.reduce(0) { $0 + ($1.served?.memoryBytes ?? 0) } }
        }
    }

    /// Sets the gauges of loaded bytes, the budget and the models loaded.
    func recordMemoryTotals() {
        let (bytes, loadedModels) = models.withLock { models in
            var bytes = 0
            var loadedModels = 0
            for slot in models.values {
                let served = slot.versions.values.compactMap(\.served)
                bytes += served.reduce(0) { $0 + $1.memoryBytes }
                if !served.isEmpty { loadedModels += 1 }
            }
            return (bytes, loadedModels)
        }
        ModelLoadMetrics.recordTotals(loadedBytes: bytes, budget: options.memoryBudget, modelsLoaded: loadedModels)
    }
}
