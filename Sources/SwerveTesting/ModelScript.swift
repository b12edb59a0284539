import Foundation
import SwerveCore

/// Runs a Python script that writes test models (scripts/make_*_models.py and the like) and
/// waits for it; its standard output is dropped, its standard error kept for the failure.
public enum ModelScript {
    /// Runs `python` with `arguments`.
    /// - Throws: `internal`, with the script's standard error, when it cannot start or fails;
    ///   `what` names it in the message.
    public static func run(python: String, arguments: [String], what: String) throws(SwerveError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw SwerveError.internal("could not run \(python) for \(what): \(error)")
        }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SwerveError.internal("\(what) failed: \(String(decoding: message, as: UTF8.self))")
        }
    }
}
