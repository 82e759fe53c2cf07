import NIOCore
import Testing
import Wire

@testable import Proxy

/// `filters` (`stripParams`, `setParams`, `setParamsByID`) and `useModelName` as ``RequestBodyEdits``: which edits a
/// request gets (llama-swap's order and rules), and that applying them changes only the members they name.
@Suite struct RequestBodyFilterTests {
    /// A config's filters, as the loader reads them (macros expanded, `model` dropped, aliases made).
    static func filters(_ yaml: String) throws -> FilterSettings {
        let text = "models:\n  m:\n    cmd: server --port ${PORT}\n    filters:\n" + yaml
        let (config, _) = try ConfigLoader.load(yaml: text, file: "config.yaml", environment: [:])
        return try #require(config.models["m"]).filters
    }

    static func edit(
        _ body: String, filters yaml: String, requested: String = "m", useModelName: String? = nil
    ) throws -> String? {
        let edits = RequestBodyEdits(useModelName: useModelName, filters: try filters(yaml), requestedID: requested)
        return edits.apply(to: Array(body.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// One row: filters (YAML under `filters:`), the id requested, `useModelName`, the body, the body forwarded
    /// (`nil`: the received body is sent as it is, without edits).
    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var filters: String
        var requested = "m"
        var useModelName: String? = nil
        var body: String
        var expected: String?
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(
            name: "stripParams: comma list, spaces, duplicates, empty parts",
            filters: "      stripParams: \" top_k , temperature,, top_k ,\"\n",
            body: #"{"model":"m","temperature":0.5,"top_k":40,"top_p":0.9}"#,
            expected: #"{"model":"m","top_p":0.9}"#),
        Row(
            name: "stripParams never strips model",
            filters: "      stripParams: \"model, temperature\"\n",
            body: #"{"temperature":1,"model":"m"}"#,
            expected: #"{"model":"m"}"#),
        Row(
            name: "stripParams of an absent key: body unchanged",
            filters: "      stripParams: \"seed\"\n",
            body: #"{ "model" : "m" }"#,
            expected: #"{ "model" : "m" }"#),
        Row(
            name: "setParams overrides in place and adds the rest at the end, sorted",
            filters: "      setParams:\n        zeta: true\n        temperature: 0.7\n        alpha: [1, \"two\"]\n",
            body: #"{"temperature":1.5,"model":"m"}"#,
            expected: #"{"temperature":0.7,"model":"m","alpha":[1,"two"],"zeta":true}"#),
        Row(
            name: "setParams values: any JSON, mappings in written order, strings escaped",
            filters: """
                      setParams:
                        provider:
                          zdr: true
                          data_collection: "deny"
                        stop: ["\\n", "caf\\u00e9"]
                        n: null
                        quoted: "12"

                """,
            body: #"{"model":"m"}"#,
            expected: #"{"model":"m","n":null,"provider":{"zdr":true,"data_collection":"deny"},"quoted":"12","stop":["\n","café"]}"#),
        Row(
            name: "setParams cannot set model",
            filters: "      setParams:\n        model: other\n        top_p: 0.9\n",
            body: #"{"model":"m"}"#,
            expected: #"{"model":"m","top_p":0.9}"#),
        Row(
            name: "strip then set the same key: the set wins",
            filters: "      stripParams: temperature\n      setParams:\n        temperature: 0.2\n",
            body: #"{"temperature":9,"model":"m"}"#,
            expected: #"{"temperature":0.2,"model":"m"}"#),
        Row(
            name: "setParamsByID for the alias requested overrides setParams",
            filters: """
                      setParams:
                        top_p: 0.5
                        temperature: 0.7
                      setParamsByID:
                        m:high:
                          top_p: 0.1
                          chat_template_kwargs:
                            reasoning_effort: high
                        m:low:
                          top_p: 0.9

                """,
            requested: "m:high",
            body: #"{"model":"m:high","top_p":1}"#,
            expected: #"{"model":"m:high","top_p":0.1,"temperature":0.7,"chat_template_kwargs":{"reasoning_effort":"high"}}"#),
        Row(
            name: "setParamsByID of another id does not apply (nothing to do: sent as received)",
            filters: "      setParamsByID:\n        m:high:\n          top_p: 0.1\n",
            requested: "m",
            body: #"{"model":"m","top_p":1}"#,
            expected: nil),
        Row(
            name: "setParamsByID by the model's own id (${MODEL_ID})",
            filters: "      setParamsByID:\n        \"${MODEL_ID}\":\n          chat_template_kwargs: {reasoning_effort: medium}\n",
            requested: "m",
            body: #"{"model":"m","chat_template_kwargs":{"enable_thinking":true}}"#,
            expected: #"{"model":"m","chat_template_kwargs":{"reasoning_effort":"medium"}}"#),
        Row(
            name: "useModelName with filters: model renamed, setParamsByID keyed by the id requested",
            filters: "      stripParams: seed\n      setParamsByID:\n        m:low:\n          top_k: 5\n",
            requested: "m:low", useModelName: "org/Real-Q4",
            body: #"{"seed":1,"model":"m:low"}"#,
            expected: #"{"model":"org/Real-Q4","top_k":5}"#),
        Row(
            name: "only the top level: nested members of the same names stay",
            filters: "      stripParams: temperature\n      setParams:\n        top_p: 0.3\n",
            body: #"{"messages":[{"temperature":1,"top_p":2}],"meta":{"temperature":3},"temperature":4,"model":"m"}"#,
            expected: #"{"messages":[{"temperature":1,"top_p":2}],"meta":{"temperature":3},"model":"m","top_p":0.3}"#),
        Row(
            name: "a key written twice is removed everywhere",
            filters: "      stripParams: seed\n",
            body: #"{"seed":1,"model":"m","seed":2}"#,
            expected: #"{"model":"m"}"#),
        Row(
            name: "not a JSON object: forwarded as it came",
            filters: "      stripParams: seed\n",
            body: #"[{"seed":1}]"#,
            expected: nil),
    ]

    @Test(arguments: rows)
    func edits(row: Row) throws {
        let result = try Self.edit(
            row.body, filters: row.filters, requested: row.requested, useModelName: row.useModelName)
        #expect(result == row.expected)
    }

    /// No `useModelName` and no filters for the id requested: no edit, so the relay sends the body without scanning.
    @Test(arguments: [
        ("", "m"),
        ("      setParamsByID:\n        m:high:\n          top_p: 0.1\n", "m"),
        ("      stripParams: model\n", "m"),
        ("      setParams:\n        model: x\n", "m"),
    ])
    func nothingToDo(filters yaml: String, requested: String) throws {
        let filters = yaml.isEmpty ? FilterSettings() : try Self.filters(yaml)
        #expect(RequestBodyEdits(useModelName: nil, filters: filters, requestedID: requested).isEmpty)
    }

    /// The edits in llama-swap's order (useModelName, stripParams sorted, setParams sorted, setParamsByID sorted).
    @Test func editOrder() throws {
        let filters = try Self.filters(
            """
                  stripParams: "b, a"
                  setParams:
                    y: 1
                    x: 2
                  setParamsByID:
                    m:v:
                      d: 3
                      c: 4

            """)
        let edits = RequestBodyEdits(useModelName: "n", filters: filters, requestedID: "m:v").edits
        #expect(
            edits == [
                .set(key: "model", string: "n"), .remove(key: "a"), .remove(key: "b"),
                .set(key: "x", rawJSON: Array("2".utf8)), .set(key: "y", rawJSON: Array("1".utf8)),
                .set(key: "c", rawJSON: Array("4".utf8)), .set(key: "d", rawJSON: Array("3".utf8)),
            ])
    }

    /// `ConfigValue` as JSON: every kind, numbers as Swift's shortest round-trip spelling (valid JSON).
    @Test(arguments: [
        (ConfigValue.null, "null"), (.bool(false), "false"), (.integer(-12), "-12"), (.number(0.7), "0.7"),
        (.number(1e300), "1e+300"), (.string("a\"\\\n\u{1}é"), #""a\"\\\n\u0001é""#),
        (.list([.integer(1), .list([])]), "[1,[]]"),
        (.mapping([("b", .null), ("a", .mapping([]))]), #"{"b":null,"a":{}}"#),
    ])
    func configValueAsJSON(value: ConfigValue, expected: String) throws {
        let text = RequestBodyEdits.json(value)
        #expect(text == expected)
        _ = try Array(text.utf8).withUnsafeBytes { try JSONTopLevelScanner.validateValue($0) }
    }

    /// Names llama-swap would read as gjson paths are taken literally here, and the loader says so; plain names
    /// (and the model's filters themselves) give no warning.
    @Test(arguments: [
        ("      stripParams: \"a.b, top_k\"\n", ["'a.b' in stripParams"]),
        ("      setParams:\n        \"x.y\": 1\n        \"max_tokens?\": 2\n        top_p: 1\n",
         ["'max_tokens?' in setParams", "'x.y' in setParams"]),
        ("      setParamsByID:\n        m:v:\n          \"k#\": 1\n", ["'k#' in setParamsByID"]),
        ("      stripParams: top_k\n      setParams: {top_p: 1}\n      setParamsByID: {\"m:v\": {seed: 1}}\n", []),
    ])
    func pathLikeNamesAreWarnedAbout(yaml: String, expected: [String]) throws {
        let text = "models:\n  m:\n    cmd: server --port ${PORT}\n    filters:\n" + yaml
        let (_, warnings) = try ConfigLoader.load(yaml: text, file: "config.yaml", environment: [:])
        let messages = warnings.map(\.message)
        #expect(messages.count == expected.count, "\(messages)")
        for (message, start) in zip(messages, expected) {
            #expect(message.hasPrefix(start) && message.contains("of the filters of model 'm'"), "\(message)")
        }
    }
}
