/// A tensor: a data type, a shape and one contiguous, row-major, little-endian byte buffer.
///
/// Fixed-size types hold `elementCount × byteSize` bytes. ``DataType/bytes`` tensors hold each
/// element as a little-endian `UInt32` length followed by its bytes, which is the KServe v2 binary
/// encoding, so binary request bodies can be taken as they are.
public struct Tensor: Sendable, Equatable {
    /// The element type.
    public var dataType: DataType
    /// The dimensions, outermost first. Every dimension is non-negative.
    public var shape: [Int]
    /// The elements, encoded as described above.
    public var data: [UInt8]

    /// Creates a tensor from its parts without checking them; use ``validated(dataType:shape:data:)``
    /// for bytes that come from a client.
    public init(dataType: DataType, shape: [Int], data: [UInt8]) {
        self.dataType = dataType
        self.shape = shape
        self.data = data
    }

    /// The number of elements the shape describes.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Checks that `data` holds exactly the elements that `shape` describes and returns the tensor.
    ///
    /// - Throws: ``SwerveError`` with code `invalidArgument` naming `name` when the sizes disagree.
    public static func validated(name: String, dataType: DataType, shape: [Int], data: [UInt8]) throws -> Tensor {
        let count = try Shape.elementCount(shape, tensorName: name)
        if let size = dataType.byteSize {
            let (expected, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, expected == data.count else {
                throw SwerveError.invalid(
                    "input '\(name)': \(data.count) bytes of \(dataType.rawValue) data do not match shape \(shape), which needs \(overflow ? "more than \(Int.max)" : String(expected)) bytes"
                )
            }
        } else {
            let found = try BytesCodec.countElements(in: data, tensorName: name)
            guard found == count else {
                throw SwerveError.invalid(
                    "input '\(name)': \(found) BYTES elements do not match shape \(shape), which needs \(count)"
                )
            }
        }
        return Tensor(dataType: dataType, shape: shape, data: data)
    }
}

/// Shape arithmetic that never traps on hostile input.
public enum Shape {
    /// The product of the dimensions.
    /// - Throws: `invalidArgument` when a dimension is negative or the product overflows.
    public static func elementCount(_ shape: [Int], tensorName: String) throws -> Int {
        var count = 1
        for dim in shape {
            guard dim >= 0 else {
                throw SwerveError.invalid("tensor '\(tensorName)': shape \(shape) has a negative dimension")
            }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw SwerveError.invalid("tensor '\(tensorName)': shape \(shape) has more elements than can be addressed")
            }
            count = product
        }
        return count
    }

    /// Renders a shape as `[1, 16]`, with `-1` for variable dimensions.
    public static func describe(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }
}
