import Foundation
import SwerveCore
import Testing

private func fp32(_ values: [Float], shape: [Int]) -> Tensor {
    Tensor(dataType: .fp32, shape: shape, data: values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
}

/// Triton's classification extension (`class_count`): raw values as "value:index:label".
struct ClassificationTests {
    func strings(_ tensor: Tensor) throws -> [String] {
        try BytesCodec.decode(tensor.data, tensorName: "t").map { String(decoding: $0, as: UTF8.self) }
    }

    /// Top-K entries come highest first as "value:index:label" with six decimals, like Triton.
    @Test func topKWithLabels() throws {
        let result = try Classification.classify(
            fp32([0.1, 15.34623, 2, 7], shape: [4]), name: "y", count: 2, batched: false, labels: ["a", "b", "c", "d"])
        #expect(result.dataType == .bytes)
        #expect(result.shape == [2])
        #expect(try strings(result) == ["15.346230:1:b", "7.000000:3:d"])
    }

    /// Batched outputs are classified per batch element, without labels when none are known.
    @Test func batchedWithoutLabels() throws {
        let result = try Classification.classify(fp32([1, 3, 2, 9, 8, 7], shape: [2, 3]), name: "y", count: 5, batched: true, labels: nil)
        #expect(result.shape == [2, 3])
        #expect(try strings(result) == ["3.000000:1", "2.000000:2", "1.000000:0", "9.000000:0", "8.000000:1", "7.000000:2"])
    }

    /// Integer outputs print as integers; a count below one is refused.
    @Test func integersAndBadCounts() throws {
        let ints = Tensor(dataType: .int32, shape: [3], data: [Int32(4), -1, 9].flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) })
        #expect(try strings(try Classification.classify(ints, name: "y", count: 1, batched: false, labels: nil)) == ["9:2"])
        #expect(throws: SwerveError.self) { try Classification.classify(ints, name: "y", count: 0, batched: false, labels: nil) }
    }

    /// Ties keep the lower index first and NaN comes last, in every batch row (the shared top-k).
    @Test func tiesAndNaNPerRow() throws {
        let result = try Classification.classify(
            fp32([.nan, 2, 5, 2, 1, 1, .nan, 3], shape: [2, 4]), name: "y", count: 4, batched: true, labels: nil)
        #expect(try strings(result) == ["5.000000:2", "2.000000:1", "2.000000:3", "nan:0", "3.000000:3", "1.000000:0", "1.000000:1", "nan:2"])
    }

    /// UINT64 values above Int64.max are printed, not a crash.
    @Test func hugeUnsignedValues() throws {
        let big = Tensor(dataType: .uint64, shape: [2], data: [UInt64.max, 7].flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) })
        #expect(try strings(try Classification.classify(big, name: "y", count: 2, batched: false, labels: nil)) == ["18446744073709551616:0", "7:1"])
    }

    /// A count far above the number of classes is cut to the classes, on a large output too.
    @Test func largeCounts() throws {
        let values = (0..<10_000).map { Float(($0 * 7919) % 10_000) }
        let result = try Classification.classify(fp32(values, shape: [10_000]), name: "y", count: 1_000_000, batched: false, labels: nil)
        #expect(result.shape == [10_000])
        let parsed = try strings(result).map { Double($0.split(separator: ":")[0])! }
        #expect(parsed == parsed.sorted(by: >))
    }

    /// Label files: one label per line, CRLF endings and a final newline are not labels.
    @Test func loadsLabelFiles() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UInt64.random(in: 0...UInt64.max)).txt").path
        try "tench\r\ngoldfish\r\n\ncrane\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(Classification.loadLabels(path: path) == ["tench", "goldfish", "", "crane"])
        #expect(Classification.loadLabels(path: path + ".missing") == nil)
    }
}

/// The softmax and top-k behind the TorchServe-style answers and the image pipeline.
struct ClassificationPostprocessingTests {
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

    /// The top-k of a large k (one sort) and of a small k (insertion) agree.
    @Test func topIndicesLargeAndSmallK() {
        let values: [Double] = (0..<500).map { Double(($0 * 37) % 101) } + [.nan, .nan]
        let all = ClassificationPostprocessing.topIndices(values, count: 1000)
        #expect(all.count == values.count)
        #expect(Array(all.prefix(10)) == ClassificationPostprocessing.topIndices(values, count: 10))
        #expect(Array(all.suffix(2)) == [500, 501])
        #expect(zip(all.dropLast(2), all.dropLast(3).dropFirst()).allSatisfy { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) })
        #expect(ClassificationPostprocessing.topIndices([Float](), count: 3) == [])
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
        let double = Tensor(dataType: .fp64, shape: [1, 3], data: [0.25, -1, 4.5].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
        #expect(try ClassificationPostprocessing(softmax: false, topK: 1).classify(double, labels: nil) == [[ClassScore(label: "2", index: 2, probability: 4.5)]])
    }

    /// Integer outputs cannot be classified and say so.
    @Test func refusesIntegerOutputs() {
        let ints = Tensor(dataType: .int32, shape: [2], data: [UInt8](repeating: 0, count: 8))
        let error = #expect(throws: SwerveError.self) { try ClassificationPostprocessing().classify(ints, labels: nil) }
        #expect(error?.message.contains("INT32") == true)
    }

    /// config.pbtxt parameters: defaults, booleans in several spellings, trimmed values, other keys ignored.
    @Test func readsConfigParameters() throws {
        #expect(try ClassificationPostprocessing(configParameters: [:]) == ClassificationPostprocessing(softmax: true, topK: 5))
        #expect(try ClassificationPostprocessing(configParameters: ["postprocess_softmax": " no ", "postprocess_top_k": " 10"])
            == ClassificationPostprocessing(softmax: false, topK: 10))
        for (text, expected) in [("TRUE", true), ("yes", true), ("1", true), ("False", false), ("0", false)] {
            #expect(try ClassificationPostprocessing(configParameters: ["postprocess_softmax": text]).softmax == expected)
        }
        #expect(try ClassificationPostprocessing(configParameters: ["image_input": "x", "max_batch_delay": "5"]).topK == 5)
    }

    /// Bad config values are refused with a message naming the key and the value.
    @Test func refusesBadConfigParameters() {
        for (parameters, message) in [
            (["postprocess_softmax": "maybe"], "config parameter 'postprocess_softmax': 'maybe' is not true or false"),
            (["postprocess_top_k": "0"], "config parameter 'postprocess_top_k': '0' is not an integer from 1 to 1000000"),
            (["postprocess_top_k": "five"], "config parameter 'postprocess_top_k': 'five' is not an integer from 1 to 1000000"),
        ] {
            let error = #expect(throws: SwerveError.self) { try ClassificationPostprocessing(configParameters: parameters) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message == message)
        }
    }
}
