/// The members of a JSON object, in insertion order.
///
/// Keys are compared by their Unicode scalars (not by Swift's canonical-equivalence `String ==`), so
/// `"é"` and `"e\u{301}"` are different keys, as in JSON. Lookups are linear for small objects and
/// use a hash index once an object has more than a handful of members. Equality ignores order.
public struct JSONObject: Sendable, Hashable, Sequence {
    public typealias Element = (key: String, value: JSONValue)

    @usableFromInline var entries: [Element]
    @usableFromInline var index: [ExactKey: Int]?

    static let indexThreshold = 12

    public init() {
        entries = []
        index = nil
    }

    /// Creates an object from pairs; a repeated key keeps the last value at the first position.
    public init(_ pairs: [(String, JSONValue)]) {
        self.init()
        entries.reserveCapacity(pairs.count)
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var keys: [String] { entries.map(\.key) }
    public var values: [JSONValue] { entries.map(\.value) }

    public func makeIterator() -> IndexingIterator<[Element]> { entries.makeIterator() }

    /// The position of `key` in insertion order.
    public func position(of key: String) -> Int? {
        if let index { return index[ExactKey(key)] }
        for i in entries.indices where exactEquals(entries[i].key, key) { return i }
        return nil
    }

    public subscript(key: String) -> JSONValue? {
        get {
            guard let i = position(of: key) else { return nil }
            return entries[i].value
        }
        set {
            if let i = position(of: key) {
                if let newValue {
                    entries[i].value = newValue
                } else {
                    entries.remove(at: i)
                    rebuildIndex()
                }
            } else if let newValue {
                appendNew(key, newValue)
            }
        }
    }

    /// Entry at `position` (in insertion order).
    public subscript(position position: Int) -> Element { entries[position] }

    /// Appends a member without checking for duplicates (the caller guarantees the key is new).
    mutating func appendNew(_ key: String, _ value: JSONValue) {
        entries.append((key, value))
        if index != nil {
            index![ExactKey(key)] = entries.count - 1
        } else if entries.count > Self.indexThreshold {
            rebuildIndex()
        }
    }

    /// Appends a member unless the key is present; returns false for a duplicate.
    mutating func insertIfAbsent(_ key: String, _ value: JSONValue) -> Bool {
        if position(of: key) != nil { return false }
        appendNew(key, value)
        return true
    }

    private mutating func rebuildIndex() {
        guard entries.count > Self.indexThreshold else {
            index = nil
            return
        }
        var map = [ExactKey: Int](minimumCapacity: entries.count)
        for (i, entry) in entries.enumerated() { map[ExactKey(entry.key)] = i }
        index = map
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        for (key, value) in lhs.entries {
            guard let other = rhs[key], other == value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: combine per-member hashes commutatively.
        var combined = 0
        for (key, value) in entries {
            var member = Hasher()
            member.combine(key)
            member.combine(value)
            combined = combined &+ member.finalize()
        }
        hasher.combine(entries.count)
        hasher.combine(combined)
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements)
    }
}
