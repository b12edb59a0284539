import Foundation

/// One class of a classification result.
public struct ClassScore: Sendable, Equatable {
    /// The class name from `labels.txt`, or the index as text when there is no label for it.
    /// Names can repeat (ImageNet has two `crane`s): use ``index`` to tell classes apart.
    public var label: String
    /// The class index in the model's output.
    public var index: Int
    /// The softmax probability, or the raw output value when softmax is off.
    public var probability: Float

    /// Creates a class score.
    public init(label: String, index: Int, probability: Float) {
        self.label = label
        self.index = index
        self.probability = probability
    }
}

/// Turns a classifier's output into its top classes: an optional softmax, then the `topK`
/// highest values with their labels, highest first (ties: lower index first; NaN last).
///
/// This is the one implementation of softmax and top-k in Swerve: the TorchServe-style
/// frontends answer with it, the image pipeline carries one, and Triton's classification
/// extension (``Classification``) picks its top entries with ``topIndices(_:count:)``.
///
/// ```swift
/// let post = try ClassificationPostprocessing(configParameters: ["postprocess_top_k": "5"])
/// let top5 = try post.classify(logits, labels: labels)[0]   // [ClassScore], best first
/// ```
public struct ClassificationPostprocessing: Sendable, Equatable {
    /// Whether to apply a softmax to the output first (for models that output logits).
    public var softmax: Bool
    /// How many classes to keep.
    public var topK: Int

    /// The `config.pbtxt` parameter that turns the softmax on or off (`true`/`false`, also
    /// `yes`/`no`, `1`/`0`; default `true`).
    public static let softmaxParameter = "postprocess_softmax"
    /// The `config.pbtxt` parameter that sets how many classes to return (default `5`).
    public static let topKParameter = "postprocess_top_k"
    /// The largest `postprocess_top_k` accepted.
    public static let maxTopK = 1_000_000

    /// Creates a post-processing step.
    /// - Precondition: `topK >= 1`.
    public init(softmax: Bool = true, topK: Int = 5) {
        precondition(topK >= 1, "ClassificationPostprocessing: topK must be at least 1")
        self.softmax = softmax
        self.topK = topK
    }

    /// The post-processing a model's configuration declares with `postprocess_softmax` and
    /// `postprocess_top_k` (defaults: softmax on, top 5). Values are trimmed; other keys are
    /// ignored.
    /// - Parameter configParameters: `config.pbtxt` parameters, key → `string_value`.
    /// - Throws: ``SwerveError`` (`invalidArgument`) naming the key, for a value that is not a
    ///   boolean or an integer from 1 to ``maxTopK``.
    public init(configParameters: [String: String]) throws {
        func value(_ key: String) -> String? {
            configParameters[key].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        var softmax = true
        if let text = value(Self.softmaxParameter) {
            switch text.lowercased() {
            case "true", "yes", "1": softmax = true
            case "false", "no", "0": softmax = false
            default: throw SwerveError.invalid("config parameter '\(Self.softmaxParameter)': '\(text)' is not true or false")
            }
        }
        var topK = 5
        if let text = value(Self.topKParameter) {
            guard let number = Int(text), number >= 1, number <= Self.maxTopK else {
                throw SwerveError.invalid("config parameter '\(Self.topKParameter)': '\(text)' is not an integer from 1 to \(Self.maxTopK)")
            }
            topK = number
        }
        self.init(softmax: softmax, topK: topK)
    }

    /// The top classes of one output vector.
    /// - Parameter labels: class names by index (`labels.txt`), if any.
    public func classify(_ scores: [Float], labels: [String]?) -> [ClassScore] {
        scores.withUnsafeBufferPointer { classify($0, labels: labels) }
    }

    /// The top classes of each item of a classifier output: `[N, C]` (or any rank ≥ 2, whose
    /// first dimension is the batch) gives N lists, `[C]` one.
    /// - Throws: ``SwerveError`` (`invalidArgument`) for an output that is not FP32, FP16,
    ///   BF16 or FP64.
    public func classify(_ output: Tensor, labels: [String]?) throws -> [[ClassScore]] {
        let values = try Self.floats(of: output)
        let batch = output.shape.count >= 2 ? output.shape[0] : 1
        guard batch > 0, !values.isEmpty else { return Array(repeating: [], count: max(0, batch)) }
        let classes = values.count / batch
        return values.withUnsafeBufferPointer { all in
            (0..<batch).map { item in
                classify(UnsafeBufferPointer(rebasing: all[(item * classes)..<((item + 1) * classes)]), labels: labels)
            }
        }
    }

    func classify(_ scores: UnsafeBufferPointer<Float>, labels: [String]?) -> [ClassScore] {
        let values = softmax ? Self.softmax(scores) : Array(scores)
        return Self.topIndices(values, count: topK).map { index in
            let label = labels.flatMap { index < $0.count ? $0[index] : nil } ?? String(index)
            return ClassScore(label: label, index: index, probability: values[index])
        }
    }

    /// The softmax of `values`, computed stably (the maximum is subtracted first, sums in
    /// Double). Infinite maxima share the probability; NaN values stay NaN.
    public static func softmax(_ values: some Collection<Float>) -> [Float] {
        let finiteMax = values.lazy.filter { !$0.isNaN }.max() ?? 0
        if finiteMax == .infinity {
            let infinities = values.lazy.filter { $0 == .infinity }.count
            return values.map { $0 == .infinity ? 1 / Float(infinities) : $0.isNaN ? .nan : 0 }
        }
        var exps = values.map { Foundation.exp(Double($0) - Double(finiteMax)) }
        let sum = exps.reduce(0, +)
        for i in exps.indices { exps[i] /= sum }
        return exps.map { Float($0) }
    }

    /// Indices of the `count` largest values, largest first; ties keep the lower index first;
    /// NaN values come last.
    public static func topIndices<Value: FloatingPoint>(_ values: some RandomAccessCollection<Value>, count: Int) -> [Int] {
        let values = Array(values)
        let k = min(count, values.count)
        guard k > 0 else { return [] }
        func before(_ a: Int, _ b: Int) -> Bool {
            let x = values[a], y = values[b]
            if x.isNaN || y.isNaN { return !x.isNaN && y.isNaN || (x.isNaN && y.isNaN && a < b) }
            return x > y || (x == y && a < b)
        }
        // Large k (a client's class_count can be anything): one sort, O(n log n).
        guard k <= 64 else { return values.indices.sorted(by: before).prefix(k).map { $0 } }
        // Small k: insertion into a short sorted list, O(n·k) without sorting the rest.
        var top: [Int] = []
        top.reserveCapacity(k + 1)
        for index in values.indices {
            if top.count == k, let last = top.last, !before(index, last) { continue }
            var position = top.count
            while position > 0, before(index, top[position - 1]) { position -= 1 }
            top.insert(index, at: position)
            if top.count > k { top.removeLast() }
        }
        return top
    }

    /// The elements of a floating-point tensor as Float.
    static func floats(of tensor: Tensor) throws -> [Float] {
        switch tensor.dataType {
        case .fp32, .fp64, .fp16, .bf16:
            return try Classification.numericValues(of: tensor).map { Float($0) }
        default:
            throw SwerveError.invalid("cannot classify a \(tensor.dataType.rawValue) output: classification needs FP32, FP16, BF16 or FP64 scores")
        }
    }
}
