import Foundation
import SwerveCore
import Testing

/// Names from requests stay inside the folders they name.
struct RepositoryPathTests {
    @Test(arguments: ["", ".", "..", "../x", "a/b", "/abs", ".hidden", "a\u{0}b", String(repeating: "m", count: 256)])
    func badModelNamesAreRefused(_ name: String) {
        #expect(throws: SwerveError.self) { try RepositoryPath.checkModelName(name) }
    }

    @Test(arguments: ["simple", "resnet-50_v2", "m.onnx", String(repeating: "m", count: 255)])
    func plainModelNamesPass(_ name: String) throws {
        try RepositoryPath.checkModelName(name)
    }

    @Test(arguments: ["../x", "/etc/passwd", "1/../../x", "1//model.onnx", "./1/model.onnx", "", "1/"])
    func uploadPathsLeavingTheFolderAreRefused(_ path: String) {
        #expect(throws: SwerveError.self) { try RepositoryPath.uploadComponents(path) }
    }

    @Test func uploadPathsAreSplitIntoComponents() throws {
        #expect(try RepositoryPath.uploadComponents("1/model.onnx") == ["1", "model.onnx"])
        #expect(throws: SwerveError.self) { try RepositoryPath.checkFileName("../labels.txt", field: "output[0].label_filename") }
        try RepositoryPath.checkFileName("labels.txt", field: "output[0].label_filename")
    }
}
