import Foundation
import SwerveCore
import SwerveONNXRuntime
import Testing

/// Model files ONNX Runtime cannot serve fail to load with a message that names the file.
@Suite(.enabled(if: ORTFixture.runsORTTests))
struct ModelLoadTests {
    /// A file of garbage is refused as invalid with ONNX Runtime's reason, and the backend keeps working.
    @Test func corruptModelFileGivesAClearError() throws {
        let path = ORTFixture.temporaryDirectory() + "/model.onnx"
        try Data("this is not a protobuf \u{1}\u{2}\u{3}".utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: SwerveError.self) { try ORTFixture.load(path) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix("failed to load ONNX model at \(path): ") == true)
        #expect(try ORTFixture.load(ORTFixture.dataset("mul_1.onnx")).signature.inputs.count == 1)
    }

    /// A path with no file behind it is refused as invalid and named.
    @Test func missingModelFileGivesAClearError() throws {
        let path = ORTFixture.temporaryDirectory() + "/absent/model.onnx"
        let error = #expect(throws: SwerveError.self) { try ORTFixture.load(path) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.hasPrefix("failed to load ONNX model at \(path): ") == true)
    }

    /// A model whose input is a sequence, not a tensor, fails to load and says why.
    @Test(.enabled(if: ORTFixture.runsPythonTests))
    func nonTensorInputFailsTheLoad() throws {
        let path = try ORTFixture.generated("sequence_input")
        let error = #expect(throws: SwerveError.self) { try ORTFixture.load(path) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message == "failed to load ONNX model at \(path): input 'seq' is a sequence of tensors, not a tensor; Swerve serves only tensor inputs")
    }

    /// Many sessions of one model load side by side, each with the model's signature.
    @Test func sessionsLoadSideBySide() throws {
        let path = try ORTFixture.dataset("mul_1.onnx")
        let sessions = try (0..<4).map { _ in try ORTFixture.load(path) }
        #expect(Set(sessions.map { ObjectIdentifier($0) }).count == 4)
        #expect(sessions.allSatisfy { $0.signature == sessions[0].signature })
    }
}
