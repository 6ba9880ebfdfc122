/// The compiled nodes that `$ref` and `$dynamicRef` point at, by index (immutable once built).
final class NodeTable: Sendable {
    let nodes: [SchemaNode]
    init(nodes: [SchemaNode]) { self.nodes = nodes }
}

/// The `$dynamicAnchor`s of one schema resource, for `$dynamicRef` resolution.
final class ResourceScope: Sendable {
    let uri: String
    /// Anchor name -> index in the ``NodeTable``.
    let anchors: [String: Int]
    init(uri: String, anchors: [String: Int]) {
        self.uri = uri
        self.anchors = anchors
    }
}
