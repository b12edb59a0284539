import Foundation
import SwerveCore
import SwiftProtobuf

/// One loaded SavedModel: a TensorFlow session over its graph, and the signature it serves.
///
/// ``run(inputs:outputs:)`` may be called from many threads at once: TensorFlow documents
/// `Session::Run` as thread-safe, and `TF_SessionRun` locks the graph while it checks it.
public final class TensorFlowSession: ModelInstance, @unchecked Sendable {
    // @unchecked: every stored property is immutable after init and only read afterwards. The
    // session handle is used only through TF_SessionRun (thread-safe) until deinit, when no caller
    // can hold the session any more; the graph and its operations are only read after the load.

    /// The inputs and outputs of the served signature, named by its keys.
    public let signature: ModelSignature
    /// The signature served (`serving_default` unless the configuration names another).
    public let signatureKey: String

    let runtime: TFRuntime
    let session: OpaquePointer
    let graph: OpaquePointer
    /// Each input's binding, by the signature's key.
    let inputs: [String: TFTensorBinding]
    /// Each servable output's binding, by the signature's key.
    let outputs: [String: TFTensorBinding]

    var api: TFAPI { runtime.api }

    /// The tags of the MetaGraph loaded: TF Serving's and Keras' `serve`.
    static let servingTag = "serve"

    private init(runtime: TFRuntime, session: OpaquePointer, graph: OpaquePointer, signatureKey: String, read: TFSignatureReader.Result) {
        self.runtime = runtime
        self.session = session
        self.graph = graph
        self.signatureKey = signatureKey
        self.signature = read.signature
        self.inputs = Dictionary(read.inputs.map { ($0.spec.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.outputs = Dictionary(read.outputs.map { ($0.spec.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    deinit {
        Self.close(session: session, graph: graph, api: api)
    }

    /// Closes and deletes a session and its graph. TensorFlow deletes the session even when
    /// closing it reports an error, and there is nothing else to do then.
    private static func close(session: OpaquePointer, graph: OpaquePointer, api: TFAPI) {
        let status = api.newStatus()
        defer { api.deleteStatus(status) }
        api.closeSession(session, status)
        api.deleteSession(session, status)
        api.deleteGraph(graph)
    }

    /// Loads the SavedModel in the folder `modelPath` (tag `serve`) into a new session on the
    /// runtime's shared thread pools, and reads the signature the configuration names.
    /// - Throws: ``SwerveError`` "failed to load TensorFlow SavedModel at PATH: ..." (`invalidArgument`
    ///   when the folder or its files are missing or invalid, the signature is absent or has an input
    ///   Swerve cannot serve; `internal` otherwise).
    static func load(runtime: TFRuntime, modelPath: String, config: Inference_ModelConfig?) throws(SwerveError) -> TensorFlowSession {
        let api = runtime.api
        let key = try TFSignatureReader.signatureKey(in: config)
        guard let options = api.newSessionOptions() else {
            throw SwerveError.internal("TensorFlow returned no session options")
        }
        defer { api.deleteSessionOptions(options) }
        do {
            try api.withStatus { status in
                runtime.sessionConfig.withUnsafeBytes { api.setConfig(options, $0.baseAddress, $0.count, status) }
            }
        } catch {
            throw SwerveError.internal("TensorFlow refused Swerve's session configuration: \(error)", cause: error)
        }
        guard let graph = api.newGraph(), let metaGraphBuffer = api.newBuffer() else {
            throw SwerveError.internal("TensorFlow returned no graph or buffer")
        }
        defer { api.deleteBuffer(metaGraphBuffer) }
        let created: OpaquePointer?
        do {
            created = try api.withStatus { status in
                servingTag.withCString { tag in
                    let tags: [UnsafePointer<CChar>?] = [tag]
                    return tags.withUnsafeBufferPointer {
                        api.loadSessionFromSavedModel(options, nil, modelPath, $0.baseAddress, 1, graph, metaGraphBuffer, status)
                    }
                }
            }
        } catch {
            api.deleteGraph(graph)
            throw SwerveError(
                error.isModelFileError ? .invalidArgument : .internal,
                "failed to load TensorFlow SavedModel at \(modelPath): \(error.message)", cause: error)
        }
        guard let session = created else {
            api.deleteGraph(graph)
            throw SwerveError.internal("failed to load TensorFlow SavedModel at \(modelPath): TensorFlow returned no session")
        }
        do throws(SwerveError) {
            let metaGraph = try Self.metaGraph(in: metaGraphBuffer, modelPath: modelPath)
            let reader = TFSignatureReader(api: api, graph: graph, modelPath: modelPath, config: config)
            let read = try reader.read(metaGraph, key: key)
            return TensorFlowSession(runtime: runtime, session: session, graph: graph, signatureKey: key, read: read)
        } catch {
            close(session: session, graph: graph, api: api)
            throw error
        }
    }

    /// Decodes the `MetaGraphDef` TensorFlow wrote into `buffer` (a `TF_Buffer`: data pointer,
    /// then length), reading the buffer in place; the fields Swerve does not declare (the graph
    /// itself, most of the bytes) are skipped, not kept.
    private static func metaGraph(in buffer: UnsafeMutableRawPointer, modelPath: String) throws(SwerveError) -> Tensorflow_MetaGraphDef {
        let data = buffer.load(as: UnsafeRawPointer?.self)
        let length = buffer.load(fromByteOffset: MemoryLayout<UnsafeRawPointer>.size, as: Int.self)
        guard let data, length > 0 else {
            throw SwerveError.internal("failed to load TensorFlow SavedModel at \(modelPath): TensorFlow returned no MetaGraphDef")
        }
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = true
        do {
            let bytes = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: data), count: length, deallocator: .none)
            return try Tensorflow_MetaGraphDef(serializedBytes: bytes, options: options)
        } catch {
            throw SwerveError.internal("failed to load TensorFlow SavedModel at \(modelPath): its MetaGraphDef could not be read: \(error)")
        }
    }
}

extension TFStatusError {
    /// Whether the code says the SavedModel is at fault (missing, unreadable, invalid) rather
    /// than TensorFlow or Swerve.
    var isModelFileError: Bool {
        [Self.notFound, Self.invalidArgument, Self.failedPrecondition, Self.outOfRange, Self.dataLoss].contains(code)
    }
}
