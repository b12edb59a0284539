import Foundation
import GRPCCore
import NIOHPACK

extension RPCError {
    /// Adds the error as gRPC's trailer fields carry a status, as ``GRPCInferFastPath`` writes it:
    /// `grpc-status`, `grpc-message` (percent-encoded, when there is one) and the metadata.
    func appendTrailers(to headers: inout HPACKHeaders) {
        headers.add(name: "grpc-status", value: String(code.rawValue))
        if !message.isEmpty { headers.add(name: "grpc-message", value: Self.percentEncoded(message)) }
        for (key, value) in metadata {
            switch value {
            case .string(let text): headers.add(name: key, value: text)
            case .binary(let bytes): headers.add(name: key, value: Data(bytes).base64EncodedString())
            }
        }
    }

    /// `message` as gRPC's `grpc-message` carries it: UTF-8, every byte outside printable ASCII
    /// and every `%` written as `%XX`.
    static func percentEncoded(_ message: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(message.utf8.count)
        for byte in message.utf8 {
            if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
