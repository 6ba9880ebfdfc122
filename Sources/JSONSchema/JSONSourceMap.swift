/// Where each value and each object key of a parsed document starts in its text.
///
/// Produced by ``JSONParser/parseWithLocations(_:options:)``. Lookups are by ``JSONPointer``
/// (unescaped tokens), so array elements are addressed by their decimal index.
public struct JSONSourceMap: Sendable {
    let bytes: [UInt8]
    let lineStarts: [Int]
    let valueOffsets: [JSONPointer: Int]
    let keyOffsets: [JSONPointer: Int]

    init(bytes: [UInt8], valueOffsets: [JSONPointer: Int], keyOffsets: [JSONPointer: Int]) {
        self.bytes = bytes
        var starts = [0]
        for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") { starts.append(i + 1) }
        self.lineStarts = starts
        self.valueOffsets = valueOffsets
        self.keyOffsets = keyOffsets
    }

    /// Where the value at `pointer` starts (its first byte), or nil if there is no such value.
    public func valueLocation(_ pointer: JSONPointer) -> JSONSourceLocation? {
        valueOffsets[pointer].map(location(ofOffset:))
    }

    /// Where the key of the object member at `pointer` starts (its opening quote), or nil for the
    /// root, array elements and absent members.
    public func keyLocation(_ pointer: JSONPointer) -> JSONSourceLocation? {
        keyOffsets[pointer].map(location(ofOffset:))
    }

    /// The line/column of any byte offset in the parsed text.
    public func location(ofOffset offset: Int) -> JSONSourceLocation {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        let column = bytes.withUnsafeBufferPointer {
            JSONSourceLocation.scalarColumn(from: lineStarts[low], to: min(offset, $0.count), in: $0)
        }
        return JSONSourceLocation(offset: offset, line: low + 1, column: column)
    }
}
