import Foundation
import SwerveCore

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
/// highest values with their labels, highest first (ties: lower index first).
///
/// ```swift
/// let top5 = ClassificationPostprocessing(softmax: true, topK: 5).classify(logits, labels: labels)
/// ```
public struct ClassificationPostprocessing: Sendable, Equatable {
    /// Whether to apply a softmax to the output first (for models that output logits).
    public var softmax: Bool
    /// How many classes to keep.
    public var topK: Int

    /// Creates a post-processing step.
    /// - Precondition: `topK >= 1`.
    public init(softmax: Bool = true, topK: Int = 5) {
        precondition(topK >= 1, "ClassificationPostprocessing: topK must be at least 1")
        self.softmax = softmax
        self.topK = topK
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
    static func topIndices(_ values: [Float], count: Int) -> [Int] {
        let k = min(count, values.count)
        guard k > 0 else { return [] }
        func before(_ a: Int, _ b: Int) -> Bool {
            let x = values[a], y = values[b]
            if x.isNaN || y.isNaN { return !x.isNaN && y.isNaN || (x.isNaN && y.isNaN && a < b) }
            return x > y || (x == y && a < b)
        }
        // Insertion into a short sorted list: O(n·k) for the small k classifiers use.
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
        func read<T>(_: T.Type, _ convert: (T) -> Float) -> [Float] {
            tensor.data.withUnsafeBytes { raw in
                let size = MemoryLayout<T>.size
                return (0..<(raw.count / size)).map { convert(raw.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
            }
        }
        switch tensor.dataType {
        case .fp32: return read(UInt32.self) { Float(bitPattern: UInt32(littleEndian: $0)) }
        case .fp64: return read(UInt64.self) { Float(Double(bitPattern: UInt64(littleEndian: $0))) }
        case .fp16: return read(UInt16.self) { Float(Float16(bitPattern: UInt16(littleEndian: $0))) }
        case .bf16: return read(UInt16.self) { Float(bitPattern: UInt32(UInt16(littleEndian: $0)) << 16) }
        default:
            throw SwerveError.invalid("cannot classify a \(tensor.dataType.rawValue) output: classification needs FP32, FP16, BF16 or FP64 scores")
        }
    }
}
