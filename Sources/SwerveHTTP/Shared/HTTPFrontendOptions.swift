import HTTPTypes
import Hummingbird
import NIOCore
import SwerveCore

/// Settings of the HTTP frontends.
public struct HTTPFrontendOptions: Sendable {
    /// The largest request body accepted; larger bodies get 413 before they are read whole.
    public var maxRequestSize: Int
    /// The most bytes a compressed (gzip, deflate) request body may inflate to; larger ones get
    /// 413. nil: ``maxRequestSize``. Flag `--max-decompressed-size`.
    public var maxDecompressedSize: Int?
    /// The most parts of a TorchServe multipart/form-data body; more get 400. Flag
    /// `--max-multipart-parts`.
    public var maxMultipartParts: Int

    /// Creates options.
    public init(maxRequestSize: Int = 64 << 20, maxDecompressedSize: Int? = nil, maxMultipartParts: Int = 1024) {
        self.maxRequestSize = maxRequestSize
        self.maxDecompressedSize = maxDecompressedSize
        self.maxMultipartParts = maxMultipartParts
    }

    /// The limit on an inflated body: ``maxDecompressedSize``, else ``maxRequestSize``.
    var decompressedSizeLimit: Int { maxDecompressedSize ?? maxRequestSize }

    /// Reads a request's body up to ``maxRequestSize``; a larger body gets 413 without being read
    /// whole (at once when its `Content-Length` says so).
    func collectBody(_ request: Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxRequestSize {
            throw SwerveError(
                .payloadTooLarge, "request body of \(length) bytes is larger than the limit of \(maxRequestSize) bytes (--max-request-size)")
        }
        do {
            let buffer = try await request.body.collect(upTo: maxRequestSize)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw tooLarge
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    private var tooLarge: SwerveError {
        SwerveError(.payloadTooLarge, "request body is larger than the limit of \(maxRequestSize) bytes (--max-request-size)")
    }
}
