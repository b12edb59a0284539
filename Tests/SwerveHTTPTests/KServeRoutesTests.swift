import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import SwerveCore
import SwerveHTTP
import SwerveTesting
import Testing

/// In-process tests of the KServe v2 routes over a fake backend (no sockets, no ONNX Runtime).
struct KServeRoutesTests {
    /// Runs `body` with a test client against a server on a repository with the given models.
    func withServer(
        _ models: [String: FakeBackend.FakeModel], configs: [String: String] = [:], maxRequestSize: Int = 1 << 20,
        start: Bool = true, _ body: @escaping @Sendable (any TestClientProtocol, InferenceServer) async throws -> Void
    ) async throws {
        let repo = try TemporaryRepository()
        defer { repo.remove() }
        for name in models.keys { try repo.addModel(name, config: configs[name]) }
        let manager = ModelManager(
            repository: ModelRepository(root: repo.root), backend: FakeBackend(models: models),
            options: ModelManagerOptions(intraOpThreads: 1, cpuBudget: 2), logger: Logger(label: "test"))
        let server = InferenceServer(manager: manager, info: ServerInfo(extensions: KServeRoutes.extensions))
        if start { try await server.start() }
        let app = Application(router: KServeRoutes(server: server, options: HTTPFrontendOptions(maxRequestSize: maxRequestSize)).makeRouter())
        try await app.test(.router) { client in try await body(client, server) }
        await manager.shutdown()
    }

    func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    func post(_ client: any TestClientProtocol, _ uri: String, _ body: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    /// Health, server metadata and model metadata answer as KServe v2 says.
    @Test func healthAndMetadata() async throws {
        try await withServer(["m": .identity(.fp32, shape: [-1, 4])]) { client, _ in
            #expect(try await client.execute(uri: "/v2/health/live", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v2/health/ready", method: .get).status == .ok)
            let server = try json(try await client.execute(uri: "/v2", method: .get))
            #expect(server["name"] as? String == "swerve")
            let model = try json(try await client.execute(uri: "/v2/models/m", method: .get))
            #expect(model["versions"] as? [String] == ["1"])
            #expect(model["platform"] as? String == "onnxruntime_onnx")
            let inputs = try #require(model["inputs"] as? [[String: Any]])
            #expect(inputs.first?["shape"] as? [Int] == [-1, 4])
            #expect(try await client.execute(uri: "/v2/models/m/ready", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v2/models/m/versions/1/ready", method: .get).status == .ok)
        }
    }

    /// Before the models are loaded the server is live but not ready.
    @Test func notReadyBeforeLoading() async throws {
        try await withServer(["m": .identity()], start: false) { client, _ in
            let live = try await client.execute(uri: "/v2/health/live", method: .get)
            let ready = try await client.execute(uri: "/v2/health/ready", method: .get)
            #expect(live.status == .ok)
            #expect(ready.status == .serviceUnavailable)
        }
    }

    /// The config endpoint returns Triton's JSON with default fields present.
    @Test func configIsTritonJSON() async throws {
        try await withServer(["m": .identity(.int32, shape: [3, 2])]) { client, _ in
            let config = try json(try await client.execute(uri: "/v2/models/m/config", method: .get))
            #expect(config["name"] as? String == "m")
            #expect(config["max_batch_size"] as? Int == 0)
            let input = try #require((config["input"] as? [[String: Any]])?.first)
            #expect(input["data_type"] as? String == "TYPE_INT32")
            #expect(input["dims"] as? [Int] == [3, 2])
            #expect((config["version_policy"] as? [String: Any])?["latest"] != nil)
        }
    }

    /// JSON inference: nested data is flattened, the id is echoed, outputs come back flat.
    @Test func jsonInferenceRoundTrips() async throws {
        try await withServer(["m": .identity(.int32, shape: [-1, 2])]) { client, _ in
            let response = try await post(client, "/v2/models/m/infer", """
                {"id":"req-7","inputs":[{"name":"x","shape":[2,2],"datatype":"INT32","data":[[1,2],[3,-4]]}]}
                """)
            #expect(response.status == .ok)
            let body = try json(response)
            #expect(body["id"] as? String == "req-7")
            #expect(body["model_version"] as? String == "1")
            let output = try #require((body["outputs"] as? [[String: Any]])?.first)
            #expect(output["data"] as? [Int] == [1, 2, 3, -4])
            #expect(output["shape"] as? [Int] == [2, 2])
        }
    }

    /// Binary inputs and outputs follow Triton's binary tensor data extension.
    @Test func binaryInferenceRoundTrips() async throws {
        try await withServer(["m": .identity(.fp32, shape: [-1, 2])]) { client, _ in
            let header = #"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":8}}],"outputs":[{"name":"y","parameters":{"binary_data":true}}]}"#
            var body = ByteBuffer(string: header)
            body.writeBytes([Float(1.5), -2].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
            let response = try await client.execute(
                uri: "/v2/models/m/infer", method: .post,
                headers: [HTTPField.Name("Inference-Header-Content-Length")!: String(header.utf8.count)], body: body)
            #expect(response.status == .ok)
            let length = try #require(response.headers[HTTPField.Name("Inference-Header-Content-Length")!].flatMap { Int($0) })
            let bytes = Array(response.body.readableBytesView)
            #expect(bytes.count == length + 8)
            let values = stride(from: length, to: bytes.count, by: 4).map { offset in
                Float(bitPattern: UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16 | UInt32(bytes[offset + 3]) << 24)
            }
            #expect(values == [1.5, -2])
        }
    }

    /// Malformed requests get 400 with a KServe error body naming the problem.
    @Test(arguments: [
        ("{", "invalid"),
        (#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1]}]}"#, "needs 2 elements"),
        (#"{"inputs":[{"name":"x","shape":[2147483648,16],"datatype":"FP32","data":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}]}"#, "needs 34359738368"),
        (#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP99","data":[1,2]}]}"#, "unknown datatype"),
        (#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,"a"]}]}"#, "expected a number"),
        (#"{"inputs":[{"name":"z","shape":[1,2],"datatype":"FP32","data":[1,2]}]}"#, "unexpected input 'z'"),
        (#"{"inputs":[]}"#, "missing input 'x'"),
        (#"{"inputs":[{"name":"x","shape":[1,-2],"datatype":"FP32","data":[1,2]}]}"#, "negative"),
        (#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"INT32","data":[1,2]}]}"#, "datatype INT32"),
        (#"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","data":[1,2]}],"outputs":[{"name":"q"}]}"#, "unexpected output 'q'"),
        ("[1,2,3]", "invalid"),
        (String(repeating: "[", count: 100_000), "invalid"),
    ])
    func malformedRequestsGet400(body: String, fragment: String) async throws {
        try await withServer(["m": .identity(.fp32, shape: [-1, 2])]) { client, _ in
            let response = try await post(client, "/v2/models/m/infer", body)
            #expect(response.status == .badRequest)
            let error = try json(response)["error"] as? String
            #expect(error?.contains(fragment) == true, "\(error ?? "no error")")
        }
    }

    /// Unknown models and versions get 404, wrong methods 405, oversized bodies 413.
    @Test func statusCodesForRoutingErrors() async throws {
        try await withServer(["m": .identity()], maxRequestSize: 1024) { client, _ in
            let unknown = try await post(client, "/v2/models/nope/infer", "{}")
            #expect(unknown.status == .notFound)
            #expect((try json(unknown)["error"] as? String)?.contains("nope") == true)
            #expect(try await client.execute(uri: "/v2/models/m/versions/9", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/v2/models/m/infer", method: .get).status == .methodNotAllowed)
            let big = try await post(client, "/v2/models/m/infer", String(repeating: " ", count: 4096))
            #expect(big.status == .contentTooLarge)
            #expect((try json(big)["error"] as? String)?.contains("limit") == true)
        }
    }

    /// Binary sizes that lie about the body are refused with 400.
    @Test func inconsistentBinarySizesGet400() async throws {
        try await withServer(["m": .identity(.fp32, shape: [-1, 2])]) { client, _ in
            let header = #"{"inputs":[{"name":"x","shape":[1,2],"datatype":"FP32","parameters":{"binary_data_size":800}}]}"#
            var body = ByteBuffer(string: header)
            body.writeBytes([UInt8](repeating: 0, count: 8))
            let name = HTTPField.Name("Inference-Header-Content-Length")!
            let tooLong = try await client.execute(uri: "/v2/models/m/infer", method: .post, headers: [name: String(header.utf8.count)], body: body)
            #expect(tooLong.status == .badRequest)
            let pastEnd = try await client.execute(uri: "/v2/models/m/infer", method: .post, headers: [name: "99999"], body: body)
            #expect(pastEnd.status == .badRequest)
            let negative = try await client.execute(uri: "/v2/models/m/infer", method: .post, headers: [name: "-5"], body: body)
            #expect(negative.status == .badRequest)
        }
    }

    /// A model that failed to load answers 503 with the reason, naming the config field.
    @Test func failedModelExplainsWhy() async throws {
        try await withServer(["m": .identity()], configs: ["m": "input [ { name: \"x\" data_type: TYPE_INT8 } ]"]) { client, _ in
            let response = try await client.execute(uri: "/v2/models/m", method: .get)
            #expect(response.status == .serviceUnavailable)
            #expect((try json(response)["error"] as? String)?.contains("input[0].data_type") == true)
            #expect(try await client.execute(uri: "/v2/models/m/ready", method: .get).status == .serviceUnavailable)
        }
    }
}
