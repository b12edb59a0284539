import ArgumentParser
import Foundation
import SwerveCore

/// `swerve check`: validates a repository without serving it.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a model repository without serving it.",
        discussion: "Prints, per model and version, the completed config (inputs, outputs, batch dimension) and every problem with its fix. Exits with status 1 if any model would fail to load."
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let check = RepositoryCheck(
            repository: common.repository, backends: try common.makeBackends().set,
            completion: ModelConfigCompletion(defaultMaxBatchSize: common.defaultMaxBatchSize),
            makePreprocessor: CommonOptions.makePreprocessor)
        let reports: [RepositoryCheck.ModelReport]
        do {
            reports = try check.run()
        } catch {
            print("error: \(error)")
            throw ExitCode(1)
        }
        for report in reports {
            print("\(report.ok ? "ok  " : "FAIL") \(report.name)")
            if let problem = report.problem {
                print("     problem: \(problem)")
            }
            for version in report.versions {
                if let problem = version.problem {
                    print("     version \(version.version): problem: \(problem)")
                    continue
                }
                guard let io = version.io else { continue }
                print("     version \(version.version): max_batch_size \(io.maxBatchSize)\(io.maxBatchSize > 0 ? " (first dimension is the batch)" : " (no batching)")")
                for input in io.inputs {
                    print("       input  \(input.name) \(input.dataType.rawValue) \(Shape.describe(input.shape))")
                }
                for output in io.outputs {
                    print("       output \(output.name) \(output.dataType.rawValue) \(Shape.describe(output.shape))")
                }
                for unsupported in version.unsupportedOutputs {
                    print("       warning: \(unsupported.reason)")
                }
            }
        }
        let failed = reports.filter { !$0.ok }.count
        print("\(reports.count) models checked, \(failed) with problems")
        if failed > 0 { throw ExitCode(1) }
    }
}
