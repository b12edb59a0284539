import Foundation
import HTTPTypes
import Logging
import NIOCore
import SwerveCore

/// KServe v2's `POST /v2/models/{model}[/versions/{version}]/infer`, translated onto
/// ``InferenceServer`` without Hummingbird: the request's fields and body in, one finished
/// ``HTTPAnswer`` out, every failure included. The route (``KServeRoutes``) and the event-loop fast
/// path (``KServeFastPath``) both answer with it, so the two cannot answer differently.
struct KServeInference: Sendable {
    let server: InferenceServer
    let options: HTTPFrontendOptions

    /// Answers one inference request on `channel`.
    ///
    /// An unknown model is answered 404 before `body` is called, so its body is never read. The
    /// request is cancelled (dropped from its model's queue) if the client disconnects
    /// (``DisconnectWatch``). A 413 closes the connection shortly after the answer.
    /// - Parameters:
    ///   - model: the model name from the path.
    ///   - version: the version from the path, nil for the policy's choice.
    ///   - fields: the request's fields (`Inference-Header-Content-Length`, `Content-Encoding`,
    ///     `Accept-Encoding` are read).
    ///   - body: reads the request's body, still encoded as `Content-Encoding` says.
    func answer(
        model: String, version: Int?, fields: RequestFields, channel: any Channel, logger: Logger, requestTag: @autoclosure () -> String,
        body: () async throws -> [UInt8]
    ) async -> HTTPAnswer {
        let start = ContinuousClock.now
        var status = HTTPResponse.Status.ok
        var requestID: String?
        var servedVersion: Int?
        defer {
            if logger.logLevel <= .debug {
                let elapsed = ContinuousClock.now - start
                logger.debug(
                    "infer", metadata: [
                        "model": "\(model)", "version": "\(servedVersion.map(String.init) ?? "none")", "status": "\(status.code)",
                        "duration_us": "\(elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000)",
                        "request_id": "\(requestID ?? requestTag())",
                    ])
            }
        }
        do {
            // Unknown model: 404 before the body is read. The one lookup of the request (which
            // loads the version in lazy mode).
            let served = try await server.versionForRequest(model, version: version)
            servedVersion = served.version
            return try await DisconnectWatch.shared.run(on: channel) { signal in
                let bytes = try Compression.decompress(
                    try await body(), contentEncoding: fields.contentEncoding, limit: options.decompressedSizeLimit)
                return try await inferBody(bytes, fields: fields, served: served, version: version, cancellation: signal, requestID: &requestID)
            }
        } catch {
            let answer = ErrorResponse.answer(for: error, format: .kserve)
            status = answer.status
            if status == .contentTooLarge { SwerveRequestContext.closeSoon(channel) }
            if status.code >= 500 {
                logger.error("infer failed", metadata: ["model": "\(model)", "request_id": "\(requestID ?? requestTag())", "error": "\(error)"])
            } else {
                logger.debug("infer refused", metadata: ["model": "\(model)", "request_id": "\(requestID ?? requestTag())", "status": "\(status.code)", "error": "\(error)"])
            }
            return answer
        }
    }

    private func inferBody(
        _ body: [UInt8], fields: RequestFields, served: ServedVersion, version: Int?, cancellation: CancellationSignal, requestID: inout String?
    ) async throws -> HTTPAnswer {
        let headerLength = try InferRequestBody.headerLength(field: fields.inferenceHeaderContentLength, bodyCount: body.count)
        if headerLength == 0, fields.inferenceHeaderContentLength != nil {
            return try await inferRaw(
                body, served: served, version: version, cancellation: cancellation, acceptEncoding: fields.acceptEncoding)
        }
        let split = try InferRequestBody.split(body, headerLength: headerLength)
        let header = split.header
        requestID = header.id
        let inputs = split.inputs

        try SharedMemoryParameters.reject(header.parameters.map { Array($0.keys) } ?? [], of: "the request")
        for output in header.outputs ?? [] {
            try SharedMemoryParameters.reject(output.parameters.map { Array($0.keys) } ?? [], of: "output '\(output.name)'")
        }
        let requestBinary = header.parameters?["binary_data_output"]?.value.boolValue ?? false
        var binaryOutputs = Set<String>()
        let outputs = (header.outputs ?? []).map { output -> InferenceRequest.RequestedOutput in
            if output.parameters?["binary_data"]?.value.boolValue ?? requestBinary { binaryOutputs.insert(output.name) }
            return InferenceRequest.RequestedOutput(name: output.name, parameters: ParameterJSON.convert(output.parameters))
        }
        let inferenceRequest = InferenceRequest(
            modelName: served.name, modelVersion: version, id: header.id, parameters: ParameterJSON.convert(header.parameters),
            inputs: inputs, outputs: outputs, cancellation: cancellation)
        let response = try await server.infer(inferenceRequest, on: served)
        if outputs.isEmpty, requestBinary {
            binaryOutputs = Set(response.outputs.map(\.name))
        }
        let encoded = try InferResponseJSON.encode(response, binaryOutputs: binaryOutputs)
        return try makeAnswer(encoded, acceptEncoding: fields.acceptEncoding)
    }

    /// Triton's raw binary request: the whole body is the one input's bytes, batch 1, every
    /// output returned binary.
    private func inferRaw(
        _ body: [UInt8], served: ServedVersion, version: Int?, cancellation: CancellationSignal, acceptEncoding: String?
    ) async throws -> HTTPAnswer {
        let model = served.name
        guard served.io.inputs.count == 1, let spec = served.io.inputs.first else {
            throw SwerveError.invalid("a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one input; '\(model)' has \(served.io.inputs.count)")
        }
        var shape = spec.shape
        if served.io.maxBatchSize > 0 { shape[0] = 1 }
        let variable = shape.indices.filter { shape[$0] == -1 }
        var data = body
        if spec.dataType == .bytes {
            // The whole body is one element, without a length prefix.
            guard shape.allSatisfy({ $0 == 1 || $0 == -1 }) else {
                throw SwerveError.invalid("a raw binary request fills a BYTES input with one element, but '\(spec.name)' has shape \(Shape.describe(spec.shape))")
            }
            shape = shape.map { _ in 1 }
            data = BytesCodec.encode([body])
        } else if let size = spec.dataType.byteSize {
            guard variable.count <= 1 else {
                throw SwerveError.invalid("a raw binary request cannot fill input '\(spec.name)' with more than one variable dimension")
            }
            if let axis = variable.first {
                let fixed = shape.enumerated().reduce(1) { $1.offset == axis ? $0 : $0 * $1.element } * size
                guard fixed > 0, body.count % fixed == 0 else {
                    throw SwerveError.invalid("raw body of \(body.count) bytes is not a whole number of rows of input '\(spec.name)' (\(fixed) bytes each)")
                }
                shape[axis] = body.count / fixed
            }
        }
        let tensor = try Tensor.validated(name: spec.name, dataType: spec.dataType, shape: shape, data: data)
        let response = try await server.infer(
            InferenceRequest(
                modelName: model, modelVersion: version, inputs: [NamedTensor(name: spec.name, tensor: tensor)], cancellation: cancellation),
            on: served)
        let encoded = try InferResponseJSON.encode(response, binaryOutputs: Set(response.outputs.map(\.name)))
        return try makeAnswer(encoded, acceptEncoding: acceptEncoding)
    }

    private func makeAnswer(_ encoded: InferResponseJSON.Encoded, acceptEncoding: String?) throws -> HTTPAnswer {
        var headers: HTTPFields = if let length = encoded.headerLength {
            [.contentType: "application/octet-stream", .inferenceHeaderContentLength: String(length)]
        } else {
            [.contentType: "application/json"]
        }
        if let encoding = Compression.preferred(acceptEncoding: acceptEncoding) {
            headers.append(HTTPField(name: .contentEncoding, value: encoding.rawValue))
            return HTTPAnswer(status: .ok, headers: headers, body: try Compression.compress(encoded.body, with: encoding))
        }
        return HTTPAnswer(status: .ok, headers: headers, body: ByteBuffer(bytes: encoded.body))
    }
}
