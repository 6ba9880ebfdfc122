/// Which properties/items of the current instance have been evaluated (for `unevaluated*`).
struct Annotations {
    var properties = EvaluatedSet()
    var items = EvaluatedSet()

    mutating func merge(_ other: Annotations) {
        properties.formUnion(other.properties)
        items.formUnion(other.items)
    }
}

/// A set of member positions or array indices, with a cheap "everything" state.
struct EvaluatedSet {
    var all = false
    private var bits: [UInt64] = []

    mutating func insert(_ index: Int) {
        if all { return }
        let word = index >> 6
        if word >= bits.count { bits.append(contentsOf: repeatElement(0, count: word - bits.count + 1)) }
        bits[word] |= 1 << UInt64(index & 63)
    }

    mutating func insert(upTo end: Int) {
        if all { return }
        for i in 0..<end { insert(i) }
    }

    func contains(_ index: Int) -> Bool {
        if all { return true }
        let word = index >> 6
        return word < bits.count && bits[word] & (1 << UInt64(index & 63)) != 0
    }

    mutating func formUnion(_ other: EvaluatedSet) {
        if all { return }
        if other.all {
            all = true
            bits = []
            return
        }
        if other.bits.count > bits.count { bits.append(contentsOf: repeatElement(0, count: other.bits.count - bits.count)) }
        for i in other.bits.indices { bits[i] |= other.bits[i] }
    }
}
