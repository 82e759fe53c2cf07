import LocatedYAML
import Testing

/// Every node carries the `file:line:column` where it starts, as editors count (from 1, in characters).
@Suite struct YAMLNodeLocationTests {
    static let document = """
        top: 1
        nested:
          inner: "quoted"
          list:
            - first
            - {flow: x, other: y}
        émoji: ✓ done
        """

    /// Follows `path` (mapping keys, or list indexes written as numbers) from the root.
    static func node(at path: [String], in root: YAMLNode) -> YAMLNode? {
        var node: YAMLNode? = root
        for step in path {
            if let index = Int(step) { node = node?.sequence.flatMap { $0.indices.contains(index) ? $0[index] : nil } }
            else { node = node?[step] }
        }
        return node
    }

    @Test(arguments: [
        (["top"], 1, 6),
        (["nested"], 3, 3),
        (["nested", "inner"], 3, 10),
        (["nested", "list"], 5, 5),
        (["nested", "list", "0"], 5, 7),
        (["nested", "list", "1"], 6, 7),
        (["nested", "list", "1", "other"], 6, 24),
        (["émoji"], 7, 8),
    ])
    func valuesStartWhereTheyAreWritten(path: [String], line: Int, column: Int) throws {
        let root = try #require(try YAMLNode.compose(yaml: Self.document, file: "doc.yaml"))
        let node = try #require(Self.node(at: path, in: root), "no node at \(path)")
        #expect(node.location == SourceLocation(file: "doc.yaml", line: line, column: column))
    }

    @Test(arguments: [("top", 1, 1), ("nested", 2, 1), ("émoji", 7, 1)])
    func keysStartWhereTheyAreWritten(key: String, line: Int, column: Int) throws {
        let root = try #require(try YAMLNode.compose(yaml: Self.document, file: "doc.yaml"))
        let entry = try #require(root.mapping?.first { $0.key.scalar?.text == key })
        #expect(entry.key.location == SourceLocation(file: "doc.yaml", line: line, column: column))
    }

    /// A byte-order mark is not a column: the first key is still at 1:1.
    @Test func aByteOrderMarkIsNotAColumn() throws {
        let root = try #require(try YAMLNode.compose(yaml: "\u{FEFF}a: 1\n", file: "bom.yaml"))
        let entry = try #require(root.mapping?.first)
        #expect(entry.key.location == SourceLocation(file: "bom.yaml", line: 1, column: 1))
        #expect(entry.value.location.column == 4)
    }

    @Test(arguments: [("a: yes", true), ("a: 'yes'", false), ("a: \"010\"", false), ("a: 010", true)])
    func scalarsKeepTheirTextAndStyle(yaml: String, plain: Bool) throws {
        let root = try #require(try YAMLNode.compose(yaml: yaml, file: "s.yaml"))
        let scalar = try #require(root["a"]?.scalar)
        #expect(scalar.isPlain == plain)
        #expect(["yes", "010"].contains(scalar.text))
    }

    @Test(arguments: ["", "# only a comment\n"])
    func aDocumentWithoutContentIsNil(yaml: String) throws {
        #expect(try YAMLNode.compose(yaml: yaml, file: "empty.yaml") == nil)
    }
}
