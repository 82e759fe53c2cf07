import LocatedYAML

// llama-swap settings this proxy reads and checks, but whose behaviour is not built yet. Each is loaded with its
// meaning (so a later change only has to act on it) and the loader warns, per key, that it is not supported yet.

/// A YAML value kept as data (`metadata`, `setParams`): plain scalars typed as YAML 1.1 types them, quoted ones
/// strings; mappings keep their written order.
public enum ConfigValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case list([ConfigValue])
    case mapping([(key: String, value: ConfigValue)])

    public static func == (lhs: ConfigValue, rhs: ConfigValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.number(let a), .number(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.list(let a), .list(let b)): return a == b
        case (.mapping(let a), .mapping(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value): hasher.combine(value)
        case .integer(let value): hasher.combine(value)
        case .number(let value): hasher.combine(value)
        case .string(let value): hasher.combine(value)
        case .list(let values): hasher.combine(values)
        case .mapping(let entries):
            for entry in entries {
                hasher.combine(entry.key)
                hasher.combine(entry.value)
            }
        }
    }

    /// The value of `key` in a mapping.
    public subscript(key: String) -> ConfigValue? {
        if case .mapping(let entries) = self { return entries.first { $0.key == key }?.value }
        return nil
    }

    /// A plain scalar's type, as Go's YAML reader gives it: null, booleans (YAML 1.1 words), decimal integers,
    /// decimal numbers; anything else is a string.
    static func plain(_ text: String, booleans: [String: Bool]) -> ConfigValue {
        if ["", "~", "null", "Null", "NULL"].contains(text) { return .null }
        if let value = booleans[text] { return .bool(value) }
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(text) {
            return .integer(value)
        }
        if text.contains(where: \.isNumber), text.allSatisfy({ "0123456789.eE+-".contains($0) }),
            let value = Double(text), value.isFinite
        {
            return .number(value)
        }
        return .string(text)
    }
}

/// `models.<id>.filters` (and `peers.<id>.filters`): request body edits, applied by the relay (`RequestBodyEdits`).
public struct FilterSettings: Sendable, Hashable {
    /// `stripParams`, split at commas, trimmed, without empties, duplicates and `model` (never stripped).
    public var stripParams: [String] = []
    /// `setParams`: keys set in every request body (`model` is protected and left out).
    public var setParams: [(key: String, value: ConfigValue)] = []
    /// `setParamsByID`: requested id → keys to set; every id other than the model's own is also an alias.
    public var setParamsByID: [(id: String, params: [(key: String, value: ConfigValue)])] = []

    public init() {}

    public var isEmpty: Bool { stripParams.isEmpty && setParams.isEmpty && setParamsByID.isEmpty }

    public static func == (lhs: FilterSettings, rhs: FilterSettings) -> Bool {
        func same(_ a: [(key: String, value: ConfigValue)], _ b: [(key: String, value: ConfigValue)]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        }
        return lhs.stripParams == rhs.stripParams && same(lhs.setParams, rhs.setParams)
            && lhs.setParamsByID.count == rhs.setParamsByID.count
            && zip(lhs.setParamsByID, rhs.setParamsByID).allSatisfy { $0.id == $1.id && same($0.params, $1.params) }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(stripParams)
        for entry in setParams {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
        for entry in setParamsByID { hasher.combine(entry.id) }
    }

    /// llama-swap's protected parameter: filters never strip or set it.
    public static let protectedParams: Set<String> = ["model"]
}

/// `models.<id>.capabilities`: what `/v1/models` tells clients the model accepts and produces.
public struct ModelCapabilities: Sendable, Hashable {
    public var input: [String] = []
    public var output: [String] = []
    public var tools = false
    public var reranker = false
    /// The longest context in tokens; 0 is unknown.
    public var context = 0

    public init() {}

    public var isEmpty: Bool { input.isEmpty && output.isEmpty && !tools && !reranker && context == 0 }

    /// The modalities llama-swap accepts in `in` and `out`.
    public static let modalities = ["text", "audio", "image", "video"]
}

/// `profiles.<name>`: model id pins switched at runtime.
public struct ProfileSettings: Sendable, Hashable {
    public var name: String
    public var description: String?
    /// Requested id → target (a model, alias, peer model or selector); `nil` disables the id (404).
    public var pins: [Pin]
    public var location: SourceLocation

    public struct Pin: Sendable, Hashable {
        public var id: String
        public var target: String?
    }
}

/// `selectors.<id>`: a virtual model id resolved to one of its targets per request.
public struct SelectorSettings: Sendable, Hashable {
    public enum Strategy: String, Sendable, Hashable, CaseIterable {
        /// The first ready target, then one starting, else cold-start the first.
        case warm
        /// Always the first target.
        case pin
        /// Fill targets in order up to `spillover` requests each.
        case spillover
    }

    public var id: String
    public var strategy: Strategy
    public var targets: [String]
    /// `settings.spillover`: requests per active target before the next one starts (default 1).
    public var spillover: Int
    public var name: String?
    public var description: String?
    public var unlisted: Bool
    public var metadata: ConfigValue?
    public var location: SourceLocation
}

/// `peers.<id>`: another llama-swap or an OpenAI-compatible API serving `models`.
public struct PeerSettings: Sendable, Hashable {
    public var id: String
    /// The base URL requests are sent to (`http://…`, `https://…`).
    public var proxy: String
    /// Injected as `Authorization: Bearer` and `x-api-key`; nil when blank.
    public var apiKey: String?
    public var models: [String]
    public var filters: FilterSettings
    /// `timeouts.responseHeader` (default 60 s for peers, 0 is none).
    public var responseHeaderTimeout: Duration?
    /// `timeouts.connect` (default 30 s, 0 is none).
    public var connectTimeout: Duration?
    public var location: SourceLocation
    /// `proxy` parsed (`http://` or `https://`); `nil` for a `tailcat://` peer, which is not served.
    public var upstream: UpstreamURL? = nil
    /// `timeouts.tlsHandshake` (default 10 s, 0 is none).
    public var tlsHandshakeTimeout: Duration? = .seconds(10)
    /// `timeouts.keepalive`: TCP keep-alive probes (default 30 s, 0 is off).
    public var keepAlive: Duration? = .seconds(30)
    /// `timeouts.idleConn`: pooled idle connections to the peer close after at most this long (default 90 s, as
    /// Go's transport in llama-swap; 0 is no cap of its own).
    public var idleConnTimeout: Duration? = .seconds(90)
    /// `timeouts.streamIdle` (this proxy's key), else the global `streamIdleTimeout`.
    public var streamIdleTimeout: Duration? = ProxyConfig.defaultUpstreamTimeout
}
