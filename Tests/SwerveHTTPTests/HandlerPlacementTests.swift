import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import SwerveCore
import Testing

@testable import SwerveHTTP

/// A request with a small body is handled on its connection's event loop; a large, compressed or
/// chunked body and the repository routes are handled on Swift's global executor.
struct HandlerPlacementTests {
    /// A live server (Swerve's HTTP/1 channel) whose routes answer "loop" or "pool": where the
    /// handler ran.
    func withServer(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let table = RouteTable(errorFormat: .kserve)
        let probe: RouteTable.Handler = { request, _ in
            let onLoop = MultiThreadedEventLoopGroup.currentEventLoop != nil
            _ = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: onLoop ? "loop" : "pool")))
        }
        table.post("/infer", category: .inference, probe)
        table.get("/ready", category: .health, probe)
        table.post("/load", category: .modelRepository, probe)
        table.get("/metrics", category: nil, probe)
        table.get("/stats", category: .statistics, probe)
        let app = Application(
            router: table.router, server: .swerveHTTP1(maxRequestSize: 1 << 20),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in try await body(client) }
    }

    func placement(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String,
                   headers: HTTPFields = [:], body: Int = 0) async throws -> String {
        let payload = body > 0 ? ByteBuffer(repeating: UInt8(ascii: "x"), count: body) : nil
        return try await client.execute(uri: path, method: method, headers: headers, body: payload) { response in
            #expect(response.status == .ok)
            return String(buffer: response.body)
        }
    }

    @Test func smallInferenceAndHealthRequestsRunOnTheConnectionsEventLoop() async throws {
        try await withServer { client in
            let where1 = try await placement(client, .post, "/infer", body: 300)
            #expect(where1 == "loop")
            let where2 = try await placement(client, .post, "/infer", body: RequestPlacement.maxInlineBytes)
            #expect(where2 == "loop")
            let where3 = try await placement(client, .get, "/ready")
            #expect(where3 == "loop")
        }
    }

    @Test func largeOrCompressedBodiesRunOffTheEventLoop() async throws {
        try await withServer { client in
            let where4 = try await placement(client, .post, "/infer", body: RequestPlacement.maxInlineBytes + 1)
            #expect(where4 == "pool")
            let where5 = try await placement(client, .post, "/infer", headers: [.contentEncoding: "gzip"], body: 100)
            #expect(where5 == "pool")
            // The same connection's next small request is back on the loop.
            let where6 = try await placement(client, .post, "/infer", body: 100)
            #expect(where6 == "loop")
        }
    }

    @Test func repositoryStatisticsAndUncategorisedRoutesRunOffTheEventLoop() async throws {
        try await withServer { client in
            let where7 = try await placement(client, .post, "/load", body: 10)
            #expect(where7 == "pool")
            let where8 = try await placement(client, .get, "/metrics")
            #expect(where8 == "pool")
            let where9 = try await placement(client, .get, "/stats")
            #expect(where9 == "pool")
        }
    }

    @Test func aChunkedBodyOfUnknownSizeRunsOffTheEventLoop() {
        var head = HTTPRequest(method: .post, scheme: "http", authority: "h", path: "/infer")
        head.headerFields[.transferEncoding] = "chunked"
        #expect(!HandlerPlacement.staysOnEventLoop(.inference, head))
        head.headerFields[.transferEncoding] = nil
        head.headerFields[.contentLength] = "10"
        #expect(HandlerPlacement.staysOnEventLoop(.inference, head))
        #expect(!HandlerPlacement.staysOnEventLoop(.sharedMemory, head))
    }
}
