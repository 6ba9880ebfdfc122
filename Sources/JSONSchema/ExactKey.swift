/// A string key compared by Unicode scalars rather than canonical equivalence.
@usableFromInline
struct ExactKey: Hashable, Sendable {
    @usableFromInline let string: String
    @usableFromInline init(_ string: String) { self.string = string }
    @usableFromInline static func == (lhs: ExactKey, rhs: ExactKey) -> Bool { exactEquals(lhs.string, rhs.string) }
    @usableFromInline func hash(into hasher: inout Hasher) { hasher.combine(string) }
}

/// String equality by UTF-8 bytes (JSON semantics), not Swift's canonical equivalence.
@inline(__always) @usableFromInline
func exactEquals(_ a: String, _ b: String) -> Bool {
    let count = a.utf8.count
    guard count == b.utf8.count else { return false }
    let result: Bool?? = a.utf8.withContiguousStorageIfAvailable { x in
        b.utf8.withContiguousStorageIfAvailable { y in
            for i in 0..<count where x[i] != y[i] { return false }
            return true
        }
    }
    if let result, let result { return result }
    return a.utf8.elementsEqual(b.utf8)
}
