import Foundation

/// How many CPUs this process may really use: the smaller of its CPU affinity and its cgroup
/// CPU quota, not the host's core count (a container on a 64-core host with a 2-CPU quota gets 2).
public enum CPUBudget {
    /// The CPUs this process may use, at least 1.
    public static func available() -> Int {
        var count = ProcessInfo.processInfo.activeProcessorCount
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
           let allowed = parseCPUList(String(line.dropFirst("Cpus_allowed_list:".count))) {
            count = min(count, allowed)
        }
        if let quota = cgroupQuota() {
            count = min(count, quota)
        }
        return max(1, count)
    }

    /// Counts the CPUs in a list such as `0-3,8,10-11`.
    static func parseCPUList(_ text: String) -> Int? {
        var total = 0
        for part in text.trimmingCharacters(in: .whitespaces).split(separator: ",") {
            let bounds = part.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            switch bounds.count {
            case 1: total += 1
            case 2 where bounds[1] >= bounds[0]: total += bounds[1] - bounds[0] + 1
            default: return nil
            }
        }
        return total > 0 ? total : nil
    }

    /// The cgroup v2 (`cpu.max`) or v1 (`cpu.cfs_quota_us`) quota, rounded up to whole CPUs.
    static func cgroupQuota() -> Int? {
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/cpu.max", encoding: .utf8) {
            return parseQuota(text)
        }
        if let quota = try? String(contentsOfFile: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", encoding: .utf8),
           let period = try? String(contentsOfFile: "/sys/fs/cgroup/cpu/cpu.cfs_period_us", encoding: .utf8) {
            return parseQuota(quota.trimmingCharacters(in: .whitespacesAndNewlines) + " " + period)
        }
        return nil
    }

    /// Reads `"<quota> <period>"` (`max` or a negative quota means no limit).
    static func parseQuota(_ text: String) -> Int? {
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count >= 2, let quota = Double(parts[0]), let period = Double(parts[1]), quota > 0, period > 0 else {
            return nil
        }
        return max(1, Int((quota / period).rounded(.up)))
    }
}
