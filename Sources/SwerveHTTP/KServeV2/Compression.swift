import CompressNIO
import HTTPTypes
import NIOCore
import SwerveCore

/// HTTP compression of inference bodies as Triton does it: `Content-Encoding: gzip|deflate` on
/// requests, and responses compressed with the encoding `Accept-Encoding` prefers.
enum Compression {
    enum Encoding: String {
        case gzip
        case deflate

        var algorithm: CompressionAlgorithm {
            switch self {
            case .gzip: .gzip()
            // HTTP's "deflate" is the zlib format.
            case .deflate: .zlib()
            }
        }
    }

    /// Decompresses a request body, never to more than `limit` bytes (a small body that inflates
    /// to gigabytes is refused, not allocated).
    static func decompress(_ body: [UInt8], contentEncoding: String?, limit: Int) throws -> [UInt8] {
        guard let contentEncoding else { return body }
        let name = contentEncoding.trimmingCharacters(in: .whitespaces).lowercased()
        if name.isEmpty || name == "identity" { return body }
        guard let encoding = Encoding(rawValue: name) else {
            throw SwerveError(.unsupported, "Unsupported compression type '\(contentEncoding)'; use gzip or deflate")
        }
        var buffer = ByteBuffer(bytes: body)
        do {
            let inflated = try buffer.decompress(with: encoding.algorithm, maxSize: limit)
            return Array(inflated.readableBytesView)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw SwerveError(.payloadTooLarge, "the \(name) body inflates to more than the limit of \(limit) bytes (--max-request-size)")
        } catch {
            throw SwerveError.invalid("the request body is not valid \(name) data")
        }
    }

    /// The encoding `Accept-Encoding` prefers among gzip and deflate, honouring q-values.
    static func preferred(acceptEncoding: String?) -> Encoding? {
        guard let acceptEncoding else { return nil }
        var best: (Encoding, Double)?
        for part in acceptEncoding.split(separator: ",") {
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let encoding = pieces.first.flatMap(Encoding.init(rawValue:)) else { continue }
            var quality = 1.0
            for parameter in pieces.dropFirst() where parameter.hasPrefix("q=") {
                quality = Double(parameter.dropFirst(2)) ?? 0
            }
            if quality > 0, quality > (best?.1 ?? 0) { best = (encoding, quality) }
        }
        return best?.0
    }

    static func compress(_ body: [UInt8], with encoding: Encoding) throws -> ByteBuffer {
        var buffer = ByteBuffer(bytes: body)
        return try buffer.compress(with: encoding.algorithm)
    }
}
