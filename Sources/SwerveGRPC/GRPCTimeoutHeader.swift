import GRPCCore

/// The `grpc-timeout` request header: how long the client gives the call.
enum GRPCTimeoutHeader {
    /// The timeout a call's metadata declares, or nil when it declares none (or not in gRPC's
    /// format: 1 to 8 digits and a unit, H, M, S, m, u or n).
    static func timeout(in metadata: Metadata) -> Duration? {
        metadata[stringValues: "grpc-timeout"].first(where: { _ in true }).flatMap(timeout(_:))
    }

    /// The timeout one header value declares, or nil when it is not in gRPC's format.
    static func timeout(_ text: String) -> Duration? {
        guard (2...9).contains(text.utf8.count), let unit = text.last, let amount = Int64(text.dropLast()), amount >= 0,
              text.first?.isNumber == true
        else { return nil }
        switch unit {
        case "H": return .seconds(amount * 3600)
        case "M": return .seconds(amount * 60)
        case "S": return .seconds(amount)
        case "m": return .milliseconds(amount)
        case "u": return .microseconds(amount)
        case "n": return .nanoseconds(amount)
        default: return nil
        }
    }
}
