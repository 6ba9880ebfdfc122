/// A position in JSON text.
///
/// `offset` is the 0-based UTF-8 byte offset; `line` and `column` are 1-based, and the column
/// counts Unicode scalars from the start of the line (a tab counts as one). Lines end at `\n`.
public struct JSONSourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var line: Int
    public var column: Int

    public init(offset: Int, line: Int, column: Int) {
        self.offset = offset
        self.line = line
        self.column = column
    }

    /// "line 3, column 7 (byte 42)"
    public var description: String { "line \(line), column \(column) (byte \(offset))" }

    /// Computes the location of `offset` by scanning `bytes` from the start.
    static func compute(offset: Int, in bytes: UnsafeBufferPointer<UInt8>) -> JSONSourceLocation {
        let end = min(offset, bytes.count)
        var line = 1
        var lineStart = 0
        for i in 0..<end where bytes[i] == UInt8(ascii: "\n") {
            line += 1
            lineStart = i + 1
        }
        return JSONSourceLocation(offset: offset, line: line, column: scalarColumn(from: lineStart, to: end, in: bytes) + (offset - end))
    }

    /// 1-based column: number of scalar-starting bytes in `start..<end`, plus one.
    static func scalarColumn(from start: Int, to end: Int, in bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var column = 1
        var i = start
        while i < end {
            if bytes[i] & 0xC0 != 0x80 { column += 1 }
            i += 1
        }
        return column
    }
}
