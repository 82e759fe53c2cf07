/// One node of a YAML document as written, with the place it starts: the tree `YAMLReader` reads typed values from.
///
/// Scalars keep their text exactly as written (no YAML 1.1 resolution: `yes`, `010` and `1e3` stay text until a
/// field that wants a bool or a number reads them) and whether they were plain or quoted.
public struct YAMLNode: Sendable, Hashable {
    /// What the node holds.
    public enum Content: Sendable, Hashable {
        case scalar(Scalar)
        case mapping([Entry])
        case sequence([YAMLNode])
        /// An alias (`*name`) the composer left unresolved.
        case alias
    }

    /// A scalar's text and style.
    public struct Scalar: Sendable, Hashable {
        /// The text as written, after YAML's own unescaping of quoted and block styles.
        public var text: String
        /// `true` for plain (unquoted) scalars; quoted and block scalars are always strings.
        public var isPlain: Bool
    }

    /// One `key: value` pair of a mapping, in the order written.
    public struct Entry: Sendable, Hashable {
        public var key: YAMLNode
        public var value: YAMLNode
    }

    public var content: Content
    /// Where the node starts.
    public var location: SourceLocation

    /// The scalar, when this node is one.
    public var scalar: Scalar? {
        if case .scalar(let scalar) = content { return scalar }
        return nil
    }

    /// The mapping's entries, when this node is a mapping.
    public var mapping: [Entry]? {
        if case .mapping(let entries) = content { return entries }
        return nil
    }

    /// The list's items, when this node is a list.
    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = content { return items }
        return nil
    }

    /// A plain scalar YAML reads as null: nothing, `~` or `null` (any common case).
    public var isNull: Bool {
        guard let scalar, scalar.isPlain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.text)
    }

    /// The value of the first entry whose key is the scalar `key`, when this node is a mapping.
    public subscript(key: String) -> YAMLNode? {
        mapping?.first { $0.key.scalar?.text == key }?.value
    }
}
