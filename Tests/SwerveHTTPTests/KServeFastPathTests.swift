import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import SwerveCore
import SwerveTesting
import Synchronization
import Testing

@testable import SwerveHTTP

/// The KServe v2 listener answers liveness and small inference requests in the connection's
/// pipeline (``KServeFastPath``), exactly as its routes would, and leaves everything else, and
/// everything behind a request in progress, to Hummingbird in order.
struct KServeFastPathTests {
    static let json = #"{"id":"r1","inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1.5,-2]}]}"#

    /// Runs `body` with a started server over the fake backend: model `m`, identity on FP32 [-1, 2].
    func withInferenceServer(_ body: @escaping @Sendable (InferenceServer) async throws -> Void) async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        try repo.addModel("m")
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: ["m": .identity(.fp32, shape: [-1, 2])]),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        let server = InferenceServer(manager: manager, info: ServerInfo(extensions: KServeRoutes.extensions))
        try await server.start()
        try await body(server)
        await manager.shutdown()
    }

    /// A live listener with Swerve's HTTP/1 channel serving `router`, with the fast path when given.
    func withListener(
        _ router: Router<SwerveRequestContext>, fastPath: KServeFastPathConfiguration?,
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let app = Application(
            router: router, server: .swerveHTTP1(maxRequestSize: 1 << 20, fastPath: fastPath),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "swerve"))
        try await app.test(.live) { client in try await body(client) }
    }

    func fastPath(_ routes: KServeRoutes, restrictions: RestrictedFeatures = RestrictedFeatures(flag: .httpRestrictedAPI)) -> KServeFastPathConfiguration {
        routes.fastPath(restrictions: restrictions, serverName: "swerve", logger: Logger(label: "test"))
    }

    /// With no routes at all, the fast path alone answers small plain inference requests and
    /// liveness; the requests it leaves to the router get the router's 404.
    @Test func smallPlainInferenceRequestsAreAnsweredWithoutTheRouter() async throws {
        try await withInferenceServer { server in
            let routes = KServeRoutes(server: server, options: HTTPFrontendOptions(maxRequestSize: 1 << 20))
            try await withListener(Router(context: SwerveRequestContext.self), fastPath: fastPath(routes)) { client in
                let answered = try await client.execute(uri: "/v2/models/m/infer", method: .post, body: ByteBuffer(string: Self.json))
                #expect(answered.status == .ok)
                let output = try #require(
                    ((try JSONSerialization.jsonObject(with: Data(answered.body.readableBytesView)) as? [String: Any])?["outputs"] as? [[String: Any]])?.first)
                #expect(output["data"] as? [Double] == [1.5, -2])
                #expect(answered.headers[.server] == "swerve")
                #expect(answered.headers[.date] != nil)
                let versioned = try await client.execute(uri: "/v2/models/m/versions/1/infer", method: .post, body: ByteBuffer(string: Self.json))
                #expect(versioned.status == .ok)
                let live = try await client.execute(uri: "/v2/health/live", method: .get)
                #expect(live.status == .ok)
                #expect(live.headers[.server] == "swerve" && live.headers[.date] != nil)

                // Left to the router (404 here): a body over the event loop's bound, a compressed
                // one, a query, an escape, another method, another path.
                let padded = Self.json + String(repeating: " ", count: RequestPlacement.maxInlineBytes)
                for (uri, method, headers, body) in [
                    ("/v2/models/m/infer", HTTPRequest.Method.post, HTTPFields(), padded),
                    ("/v2/models/m/infer", .post, [.contentEncoding: "gzip"], Self.json),
                    ("/v2/models/m/infer?x=1", .post, [:], Self.json),
                    ("/v2/models/%6D/infer", .post, [:], Self.json),
                    ("/v2/models/m/infer", .put, [:], Self.json),
                    ("/v2/models/m/versions/01/infer", .post, [:], Self.json),
                    ("/v2/models/m/infer/x", .post, [:], Self.json),
                ] {
                    let left = try await client.execute(uri: uri, method: method, headers: headers, body: ByteBuffer(string: body))
                    #expect(left.status == .notFound, "\(method) \(uri) \(headers)")
                }
            }
        }
    }

    /// The same requests get the same status, fields (but `Date`) and body from the fast path
    /// and from the route, failures included.
    @Test func theFastPathAnswersAsTheRouteDoes() async throws {
        try await withInferenceServer { server in
            let routes = KServeRoutes(server: server, options: HTTPFrontendOptions(maxRequestSize: 1 << 20))
            let header = #"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}"#
            var binary = ByteBuffer(string: header)
            binary.writeBytes([Float(1.5), -2].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
            let headerLength = HTTPField.Name("Inference-Header-Content-Length")!
            let requests: [(String, HTTPFields, ByteBuffer)] = [
                ("/v2/models/m/infer", [:], ByteBuffer(string: Self.json)),
                ("/v2/models/m/infer", [headerLength: String(header.utf8.count)], binary),
                ("/v2/models/m/infer", [headerLength: "0"], ByteBuffer(bytes: [0, 0, 0, 0, 0, 0, 128, 63])),
                ("/v2/models/m/infer", [.acceptEncoding: "gzip"], ByteBuffer(string: Self.json)),
                ("/v2/models/m/infer", [headerLength: "999"], ByteBuffer(string: Self.json)),
                ("/v2/models/m/infer", [:], ByteBuffer(string: "{")),
                ("/v2/models/m/infer", [:], ByteBuffer(string: #"{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"#)),
                ("/v2/models/nope/infer", [:], ByteBuffer(string: Self.json)),
                ("/v2/models/m/versions/7/infer", [:], ByteBuffer(string: Self.json)),
            ]
            typealias Answer = (status: HTTPResponse.Status, headers: [String: String], body: [UInt8])
            func answers(fast: Bool) async throws -> [Answer] {
                let collected = Mutex<[Answer]>([])
                try await withListener(routes.makeRouter(), fastPath: fast ? fastPath(routes) : nil) { client in
                    for (uri, headers, body) in requests {
                        let response = try await client.execute(uri: uri, method: .post, headers: headers, body: body)
                        var fields: [String: String] = [:]
                        for field in response.headers where field.name != .date { fields[field.name.canonicalName] = field.value }
                        #expect(response.headers[.date] != nil)
                        collected.withLock { $0.append((response.status, fields, Array(response.body.readableBytesView))) }
                    }
                }
                return collected.withLock { $0 }
            }
            let viaFastPath = try await answers(fast: true)
            let viaRoute = try await answers(fast: false)
            #expect(viaFastPath.count == requests.count)
            #expect(viaFastPath.map(\.status) == [.ok, .ok, .ok, .ok, .badRequest, .badRequest, .badRequest, .notFound, .notFound])
            for (index, (fast, route)) in zip(viaFastPath, viaRoute).enumerated() {
                #expect(fast.status == route.status, "request \(index)")
                #expect(fast.headers == route.headers, "request \(index)")
                #expect(fast.body == route.body, "request \(index)")
            }
        }
    }

    /// Requests pipelined on one connection, some answered in the pipeline and some by routes, are
    /// answered in the order sent; `Connection: close` closes the connection after its answer.
    @Test(.timeLimit(.minutes(1))) func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withInferenceServer { server in
            let routes = KServeRoutes(server: server, options: HTTPFrontendOptions(maxRequestSize: 1 << 20))
            try await withListener(routes.makeRouter(), fastPath: fastPath(routes)) { client in
                func infer(_ id: String, close: Bool = false) -> String {
                    let body = Self.json.replacingOccurrences(of: "\"r1\"", with: "\"\(id)\"")
                    return "POST /v2/models/m/infer HTTP/1.1\r\nHost: h\r\nContent-Length: \(body.utf8.count)\r\n"
                        + (close ? "Connection: close\r\n" : "") + "\r\n" + body
                }
                let padded = Self.json.replacingOccurrences(of: "\"r1\"", with: "\"big\"") + String(repeating: " ", count: RequestPlacement.maxInlineBytes)
                let sent = infer("a") + "GET /v2/health/ready HTTP/1.1\r\nHost: h\r\n\r\n" + infer("b") + "GET /v2/health/live HTTP/1.1\r\nHost: h\r\n\r\n"
                    + "POST /v2/models/m/infer HTTP/1.1\r\nHost: h\r\nContent-Length: \(padded.utf8.count)\r\n\r\n" + padded
                    + infer("c") + "GET /v2/models/m HTTP/1.1\r\nHost: h\r\n\r\n" + infer("d", close: true)
                let answers = try await Self.exchange(port: try #require(client.port), sent)
                #expect(answers.map(\.status) == [200, 200, 200, 200, 200, 200, 200, 200])
                let ids = answers.map { answer in
                    (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])?["id"] as? String
                        ?? ((try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any])?["name"] as? String) ?? ""
                }
                #expect(ids == ["a", "", "b", "", "big", "c", "m", "d"])
            }
        }
    }

    /// With the inference category restricted, inference is left to the route, which checks the key.
    @Test func aRestrictedInferenceCategoryLeavesInferenceToTheRoute() async throws {
        try await withInferenceServer { server in
            let restrictions = try RestrictedFeatures(
                RestrictionSpec.parse(["inference:Admin-Key=k3y"], flag: .httpRestrictedAPI), flag: .httpRestrictedAPI, environment: [:])
            let routes = KServeRoutes(server: server, options: HTTPFrontendOptions(maxRequestSize: 1 << 20))
            let configuration = fastPath(routes, restrictions: restrictions)
            #expect(configuration.inference == nil)
            #expect(configuration.isLive != nil)
            try await withListener(routes.makeRouter(restrictions: restrictions), fastPath: configuration) { client in
                let refused = try await client.execute(uri: "/v2/models/m/infer", method: .post, body: ByteBuffer(string: Self.json))
                #expect(refused.status == .forbidden)
                let allowed = try await client.execute(
                    uri: "/v2/models/m/infer", method: .post, headers: [HTTPField.Name("Admin-Key")!: "k3y"], body: ByteBuffer(string: Self.json))
                #expect(allowed.status == .ok)
            }
        }
    }

    /// One answer read off a raw connection.
    struct RawAnswer {
        var status: Int
        var body: String
    }

    /// Sends `text` on a new connection and reads answers until the server closes it.
    static func exchange(port: Int, _ text: String) async throws -> [RawAnswer] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        let received = try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: text))
            var bytes: [UInt8] = []
            for try await chunk in inbound { bytes += chunk.readableBytesView }
            return bytes
        }
        var answers: [RawAnswer] = []
        var rest = received[...]
        let separator = Array("\r\n\r\n".utf8)
        while let end = rest.firstRange(of: separator) {
            let head = String(decoding: rest[rest.startIndex..<end.lowerBound], as: UTF8.self)
            let lines = head.split(separator: "\r\n")
            let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
            let length = lines.dropFirst().compactMap { line -> Int? in
                let parts = line.split(separator: ":", maxSplits: 1)
                return parts.count == 2 && parts[0].lowercased() == "content-length" ? Int(parts[1].trimmingCharacters(in: .whitespaces)) : nil
            }.first ?? 0
            let bodyEnd = min(end.upperBound + length, rest.endIndex)
            answers.append(RawAnswer(status: status, body: String(decoding: rest[end.upperBound..<bodyEnd], as: UTF8.self)))
            rest = rest[bodyEnd...]
        }
        return answers
    }
}
