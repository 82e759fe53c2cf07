import NIOCore
import Wire

/// The changes llama-swap makes to a JSON request body before it goes upstream, for one model and the id the client
/// asked for: `useModelName` sets `model`; the model's `filters` remove `stripParams`, then set `setParams`, then the
/// `setParamsByID` entry of the requested id (which overrides `setParams`). `model` itself is never stripped or set
/// by filters (the loader drops it, as llama-swap does).
///
/// All of it is applied in one pass by ``JSONBodyEditor``: only the bytes of the members touched change; key order,
/// whitespace, number spelling and escapes elsewhere reach the upstream as the client sent them. Where llama-swap's
/// sequence of edits and this single pass could differ in bytes, JSON meaning is the same: a key stripped and then
/// set keeps its place (llama-swap moves it to the end), and a key present more than once is changed everywhere.
/// New keys are added at the end of the object, `setParams` keys in sorted order, then the `setParamsByID` ones.
///
/// Keys are top-level member names as written. llama-swap reads them as gjson paths, so a dot there reaches into
/// nested objects; the loader warns about such keys.
struct RequestBodyEdits: Sendable, Hashable {
    /// The edits in llama-swap's order; ``JSONBodyEditor`` lets the last edit of a key win.
    var edits: [JSONBodyEditor.Edit]

    var isEmpty: Bool { edits.isEmpty }

    /// The edits for a request to `requestedID` (the model id or alias the client named) served by a model with
    /// `useModelName` and `filters`.
    init(useModelName: String?, filters: FilterSettings, requestedID: String) {
        // Most models have neither: no sorting, no dictionary (this runs on every relayed request).
        guard useModelName != nil || !filters.isEmpty else {
            self.edits = []
            return
        }
        var edits: [JSONBodyEditor.Edit] = []
        if let useModelName { edits.append(.set(key: "model", string: useModelName)) }
        for key in filters.stripParams.sorted() where !FilterSettings.protectedParams.contains(key) {
            edits.append(.remove(key: key))
        }
        edits += Self.sets(filters.setParams)
        if let byID = filters.setParamsByID.last(where: { $0.id == requestedID }) {
            edits += Self.sets(byID.params)
        }
        self.edits = edits
    }

    /// `set` edits for `params`, by sorted key (llama-swap's order), without protected keys; a key written twice
    /// keeps its last value.
    private static func sets(_ params: [(key: String, value: ConfigValue)]) -> [JSONBodyEditor.Edit] {
        var values: [String: ConfigValue] = [:]
        for param in params where !FilterSettings.protectedParams.contains(param.key) { values[param.key] = param.value }
        return values.keys.sorted().map { .set(key: $0, rawJSON: Array(json(values[$0]!).utf8)) }
    }

    /// `value` as compact JSON text: mappings keep their written order, numbers their shortest round-trip spelling.
    static func json(_ value: ConfigValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .integer(let number): return String(number)
        case .number(let number):
            guard number.isFinite else { return "null" }
            return "\(number)"
        case .string(let text): return JSONText.quote(text)
        case .list(let items): return "[" + items.map(json).joined(separator: ",") + "]"
        case .mapping(let entries):
            return "{" + entries.map { JSONText.quote($0.key) + ":" + json($0.value) }.joined(separator: ",") + "}"
        }
    }

    /// The body with the edits applied, as the pieces to send in order: slices of `body` itself (no copy) around
    /// the new bytes. `nil` when the body is not one valid JSON object (it is then forwarded as it came) or there
    /// is nothing to do.
    func apply(to body: ByteBuffer) -> [ByteBuffer]? {
        guard !edits.isEmpty else { return nil }
        return body.withUnsafeReadableBytes { bytes -> [ByteBuffer]? in
            guard let plan = try? JSONBodyEditor.plan(edits, for: bytes) else { return nil }
            return plan.segments.map { segment in
                switch segment {
                case .original(let range):
                    body.getSlice(at: body.readerIndex + range.lowerBound, length: range.count)!
                case .inserted(let bytes):
                    ByteBuffer(bytes: bytes)
                }
            }
        }
    }

    /// ``apply(to:)`` joined into one array (tests).
    func apply(to body: [UInt8]) -> [UInt8]? {
        apply(to: ByteBuffer(bytes: body)).map { $0.reduce(into: []) { $0 += $1.readableBytesView } }
    }
}
