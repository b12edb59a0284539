import CompressNIO
import HTTPTypes
import Hummingbird
import NIOCore
import SwerveCore

/// HTTP compression of inference bodies as Triton does it: `Content-Encoding: gzip|deflate` on
/// requests, and responses compressed with the encoding `Accept-Encoding` prefers.
enum Compression {
    /// The codings Swerve decodes, as an `Accept-Encoding` value.
    static let acceptedEncodings = "gzip, deflate"

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

    /// The most codings one `Content-Encoding` may stack (`gzip, gzip` is legal).
    static let maxStackedCodings = 4

    /// Decompresses a request body, never to more than `limit` bytes at any stage (a small body
    /// that inflates to gigabytes is refused, not allocated). Stacked codings are undone last
    /// first, as RFC 9110 lists them in the order they were applied; `x-gzip` is `gzip`.
    /// - Throws: 415 with `Accept-Encoding` for a coding Swerve does not decode (RFC 9110 §15.5.16),
    ///   413 past the limit, 400 for data that is not what its coding says.
    static func decompress(_ body: [UInt8], contentEncoding: String?, limit: Int) throws -> [UInt8] {
        guard let contentEncoding else { return body }
        let names = contentEncoding.split(separator: ",").map(token)
            .filter { !$0.isEmpty && $0 != "identity" }
        let encodings = try names.map { name -> (String, Encoding) in
            guard let encoding = Encoding(rawValue: name == "x-gzip" ? "gzip" : name) else {
                throw SwerveError(.unsupportedMediaType, "Content-Encoding '\(name.prefix(100))' is not supported; use gzip or deflate")
            }
            return (name, encoding)
        }
        guard encodings.count <= maxStackedCodings else {
            throw SwerveError(
                .unsupportedMediaType, "Content-Encoding stacks \(encodings.count) codings; at most \(maxStackedCodings) are decoded")
        }
        var bytes = body
        for (name, encoding) in encodings.reversed() {
            var buffer = ByteBuffer(bytes: bytes)
            let tooLarge = SwerveError(.payloadTooLarge, "the \(name) body inflates to more than the limit of \(limit) bytes (--max-decompressed-size)")
            do {
                // CompressNIO stops at maxSize without saying so when the data ends past it: ask
                // for one byte more than the limit, and a result longer than the limit is refused.
                let decompressor = encoding.algorithm.decompressor
                try decompressor.startStream()
                defer { try? decompressor.finishStream() }  // frees zlib's state; nothing to report
                let inflated = try buffer.decompressStream(with: decompressor, maxSize: limit == .max ? limit : limit + 1)
                guard inflated.readableBytes <= limit else { throw tooLarge }
                try Self.requireStreamEnd(after: &buffer, decompressor: decompressor, name: name)
                bytes = Array(inflated.readableBytesView)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                throw tooLarge
            } catch let error as SwerveError {
                throw error
            } catch {
                throw SwerveError.invalid("the request body is not valid \(name) data")
            }
        }
        return bytes
    }

    /// Refuses a body whose compressed stream did not end where the body ends. CompressNIO returns
    /// what it inflated both when the stream was cut short (the gzip or zlib trailer, whose
    /// checksum zlib verifies, never arrived) and when bytes follow the stream's end, so both would
    /// pass as a shorter body. Bytes left unread mean data after the end. Otherwise one more byte
    /// is offered: zlib takes nothing once a stream has ended, and takes it (or fails) when the
    /// stream still expects data, so a byte left unread proves the stream, trailer included, was whole.
    private static func requireStreamEnd(after buffer: inout ByteBuffer, decompressor: any NIODecompressor, name: String) throws {
        guard buffer.readableBytes == 0 else {
            throw SwerveError.invalid("the request body has \(buffer.readableBytes) bytes after the end of its \(name) data")
        }
        var probe = ByteBuffer(bytes: [0])
        var sink = ByteBuffer()
        sink.reserveCapacity(16)
        do {
            try probe.decompressStream(to: &sink, with: decompressor)
        } catch {
            // The stream had not ended: the probe byte was read as (broken) data.
        }
        guard probe.readableBytes == 1, sink.readableBytes == 0 else {
            throw SwerveError.invalid("the request body's \(name) data is cut short: its stream has no end")
        }
    }

    /// A list element of a header value without HTTP's optional whitespace (spaces and tabs)
    /// around it, lowercased.
    static func token(_ text: Substring) -> String {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let utf8 = text.utf8
        guard let first = utf8.firstIndex(where: { !isSpace($0) }), let last = utf8.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(text[first...last]).lowercased()
    }

    /// The encoding `Accept-Encoding` prefers among gzip and deflate, honouring q-values.
    static func preferred(acceptEncoding: String?) -> Encoding? {
        guard let acceptEncoding else { return nil }
        var best: (Encoding, Double)?
        for part in acceptEncoding.split(separator: ",") {
            let pieces = part.split(separator: ";").map(token)
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
