import Foundation
import SwerveCore
import SwerveONNXRuntime
import SwerveTesting
import Testing

/// The real ONNX Runtime from the project's `.venv`, its bundled test models, and small models
/// written at run time with the venv's Python `onnx` package.
///
/// Tests that need them are enabled when they can be found, and always when
/// `SWERVE_REQUIRE_ORT=1`, so that a missing library fails the run instead of skipping it.
enum ORTFixture {
    /// Whether `SWERVE_REQUIRE_ORT=1` asks for failures instead of skips.
    static let required = ProcessInfo.processInfo.environment["SWERVE_REQUIRE_ORT"] == "1"

    /// The backend, or the error that opening ONNX Runtime gave.
    static let opened: Result<ONNXRuntimeBackend, SwerveError> = {
        do {
            return .success(try ONNXRuntimeBackend())
        } catch let error as SwerveError {
            return .failure(error)
        } catch {
            return .failure(SwerveError.internal("\(error)"))
        }
    }()

    /// Whether tests that need ONNX Runtime should run.
    static var runsORTTests: Bool {
        if case .success = opened { return true }
        return required
    }

    /// Whether tests that also need the venv's Python should run.
    static var runsPythonTests: Bool {
        required || (runsORTTests && python != nil)
    }

    /// The opened backend.
    static func backend() throws -> ONNXRuntimeBackend {
        try opened.get()
    }

    /// `onnxruntime/datasets/NAME` beside the loaded library (`onnxruntime/capi/`).
    static func dataset(_ name: String) throws -> String {
        let capi = URL(fileURLWithPath: try backend().libraryPath).deletingLastPathComponent()
        return capi.deletingLastPathComponent().appendingPathComponent("datasets/\(name)").path
    }

    /// Loads a model with one intra-op thread.
    static func load(_ path: String) throws -> any ModelInstance {
        try backend().loadInstance(modelPath: path, options: InstanceOptions(intraOpThreads: 1, interOpThreads: 1))
    }

    /// The venv's Python: the one that owns the loaded library, else `./.venv/bin/python`.
    static let python: String? = {
        var candidates: [String] = []
        if case .success(let backend) = opened, let range = backend.libraryPath.range(of: "/lib/python3") {
            candidates.append(String(backend.libraryPath[..<range.lowerBound]) + "/bin/python")
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/.venv/bin/python")
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// A folder of generated models (see ``modelScript``), written once per test run.
    static let generatedModels: Result<String, SwerveError> = {
        guard let python else {
            return .failure(SwerveError.internal("no .venv/bin/python found to write test models; run `make setup`"))
        }
        let folder = temporaryDirectory()
        return Result { () throws(SwerveError) in
            try ModelScript.run(python: python, arguments: ["-c", modelScript, folder], what: "writing test models")
            return folder
        }
    }()

    /// The path of a generated model, e.g. `identity_FP32`.
    static func generated(_ name: String) throws -> String {
        try generatedModels.get() + "/\(name).onnx"
    }

    /// A new, empty temporary folder.
    static func temporaryDirectory() -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swerve-ort-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Writes the generated models into the folder given as its argument: an Identity model per
    /// KServe data type with dims ["N", "K"], a rank-0 Identity, a string→int32 Cast, a model
    /// whose input is a sequence, and `matmul_double`, x FP32 [N, 256] times 2·I (a product big
    /// enough for ONNX Runtime to split over its intra-op threads, with exact results).
    static let modelScript = """
        import sys
        import onnx
        from onnx import TensorProto as T, helper

        out = sys.argv[1]
        vi = helper.make_tensor_value_info

        def save(name, nodes, inputs, outputs, initializers=()):
            graph = helper.make_graph(nodes, name, inputs, outputs, list(initializers))
            model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
            model.ir_version = 8
            onnx.checker.check_model(model)
            onnx.save(model, f"{out}/{name}.onnx")

        types = {
            "BOOL": T.BOOL, "UINT8": T.UINT8, "UINT16": T.UINT16, "UINT32": T.UINT32, "UINT64": T.UINT64,
            "INT8": T.INT8, "INT16": T.INT16, "INT32": T.INT32, "INT64": T.INT64, "FP16": T.FLOAT16,
            "BF16": T.BFLOAT16, "FP32": T.FLOAT, "FP64": T.DOUBLE, "BYTES": T.STRING,
        }
        for name, elem in types.items():
            save("identity_" + name, [helper.make_node("Identity", ["x"], ["y"])],
                 [vi("x", elem, ["N", "K"])], [vi("y", elem, ["N", "K"])])
        save("identity_scalar", [helper.make_node("Identity", ["x"], ["y"])],
             [vi("x", T.FLOAT, [])], [vi("y", T.FLOAT, [])])
        save("cast_string_to_int32", [helper.make_node("Cast", ["x"], ["y"], to=T.INT32)],
             [vi("x", T.STRING, ["N"])], [vi("y", T.INT32, ["N"])])
        save("sequence_input", [helper.make_node("SequenceLength", ["seq"], ["n"])],
             [helper.make_tensor_sequence_value_info("seq", T.FLOAT, None)], [vi("n", T.INT64, [])])
        double = helper.make_tensor("w", T.FLOAT, [256, 256], [2.0 if i % 257 == 0 else 0.0 for i in range(256 * 256)])
        save("matmul_double", [helper.make_node("MatMul", ["x", "w"], ["y"])],
             [vi("x", T.FLOAT, ["N", 256])], [vi("y", T.FLOAT, ["N", 256])], [double])
        """
}

extension Tensor {
    /// A tensor of fixed-size values, stored little-endian (the host order on x86-64 and arm64).
    static func of<T: BitwiseCopyable>(_ dataType: DataType, _ shape: [Int], _ values: [T]) -> Tensor {
        Tensor(dataType: dataType, shape: shape, data: values.withUnsafeBytes { Array($0) })
    }

    /// A BYTES tensor of the given elements.
    static func strings(_ shape: [Int], _ elements: [[UInt8]]) -> Tensor {
        Tensor(dataType: .bytes, shape: shape, data: BytesCodec.encode(elements))
    }

    /// The buffer read back as values of `T`.
    func values<T: BitwiseCopyable>(as type: T.Type) -> [T] {
        data.withUnsafeBytes { raw in
            (0..<(raw.count / MemoryLayout<T>.size)).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
        }
    }
}
