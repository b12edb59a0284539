import SwerveCore
import Testing

@testable import SwerveImage

struct ClassificationPostprocessingTests {
    func fp32(_ values: [Float], shape: [Int]) -> Tensor {
        Tensor(dataType: .fp32, shape: shape, data: values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
    }

    /// Softmax sums to one and stays finite for huge logits.
    @Test func softmaxIsStable() {
        let p = ClassificationPostprocessing.softmax([1000, 1001, 999, -1e30])
        #expect(p.allSatisfy { $0.isFinite })
        #expect(abs(p.reduce(0, +) - 1) < 1e-6)
        #expect(p[1] > p[0] && p[0] > p[2] && p[3] == 0)
        #expect(abs(p[1] - 0.66524) < 1e-4)
        #expect(ClassificationPostprocessing.softmax([.infinity, 1, .infinity]) == [0.5, 0, 0.5])
    }

    /// Top-k is ordered by probability with labels, and duplicate label names stay two entries.
    @Test func topKKeepsDuplicateLabels() {
        let labels = ["goldfish", "crane", "maillot", "crane", "maillot"]
        let top = ClassificationPostprocessing(softmax: false, topK: 4).classify([0.1, 0.3, 0.2, 0.25, 0.15], labels: labels)
        #expect(top == [
            ClassScore(label: "crane", index: 1, probability: 0.3),
            ClassScore(label: "crane", index: 3, probability: 0.25),
            ClassScore(label: "maillot", index: 2, probability: 0.2),
            ClassScore(label: "maillot", index: 4, probability: 0.15),
        ])
    }

    /// Ties keep the lower index first, NaN comes last, and classes without a label are named by their index.
    @Test func tiesNaNAndMissingLabels() {
        let top = ClassificationPostprocessing(softmax: false, topK: 10).classify([.nan, 2, 5, 2], labels: ["a"])
        #expect(top.map(\.index) == [2, 1, 3, 0])
        #expect(top.map(\.label) == ["2", "1", "3", "a"])
    }

    /// A batched [N, C] output gives one list per item; [C] gives one; k larger than C gives C entries.
    @Test func classifiesBatchedTensors() throws {
        let post = ClassificationPostprocessing(softmax: true, topK: 2)
        let batched = try post.classify(fp32([1, 3, 2, 9, 8, 7], shape: [2, 3]), labels: nil)
        #expect(batched.map { $0.map(\.index) } == [[1, 2], [0, 1]])
        #expect(abs(batched[0][0].probability - 0.66524) < 1e-4)
        let single = try ClassificationPostprocessing(softmax: false, topK: 5).classify(fp32([1, 3, 2], shape: [3]), labels: nil)
        #expect(single == [[ClassScore(label: "1", index: 1, probability: 3), ClassScore(label: "2", index: 2, probability: 2), ClassScore(label: "0", index: 0, probability: 1)]])
        let half = Tensor(dataType: .fp16, shape: [1, 2], data: [Float16(0.5), Float16(2)].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
        #expect(try post.classify(half, labels: ["x", "y"])[0].map(\.label) == ["y", "x"])
    }

    /// Integer outputs cannot be classified and say so.
    @Test func refusesIntegerOutputs() {
        let ints = Tensor(dataType: .int32, shape: [2], data: [UInt8](repeating: 0, count: 8))
        let error = #expect(throws: SwerveError.self) { try ClassificationPostprocessing().classify(ints, labels: nil) }
        #expect(error?.message.contains("INT32") == true)
    }
}
