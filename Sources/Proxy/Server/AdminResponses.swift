import Foundation
import NIOHTTP1
import Wire

// The bodies and headers of the endpoints the proxy answers itself, in llama-swap's shapes (its
// proxy/proxymanager.go `listModelsHandler`, `listRunningProcessesHandler`, `apiKeyAuth`, the OPTIONS middleware;
// proxy/proxymanager_api.go `/api/models/unload`; proxy/proxymanager_loghandlers.go). Pure functions of their
// inputs, so the shapes are tested without a server (`EndpointShapeTests`).

enum AdminResponses {
    /// `GET /v1/models`: every listed model (and, with `includeAliasesInList`, every listed alias) sorted by id, in
    /// the shape of llama-swap's `handleListModels` (internal/server/api.go), with its peer models, listed selectors
    /// and the active profile's pins: `meta.llamaswap` holds the `metadata` and the entry's `type` (`model` with
    /// `aliases`, `alias` with `modelID`, `peer`, `selector` with `strategy` and `targets`, `profile`); `capabilities` becomes
    /// llama-swap's flags (`vision`, `function_calling`, …) with `architecture`, `supported_parameters`,
    /// `context_length`, `context_window` and `meta.n_ctx`; `status.value` is `loaded` or `unloaded`.
    ///
    /// - Parameters:
    ///   - states: model id → supervisor state (`starting`, `ready`, `stopping`) of the models not stopped; `nil`
    ///     when the router has no supervisor (then no `status` is given).
    ///   - created: Unix seconds for `created` (llama-swap gives the time of the request).
    ///   - activeProfile: the profile whose pins are listed (those not named like a model, alias, peer model or
    ///     selector, and not disabled).
    static func modelList(
        _ config: ProxyConfig, states: [String: String]?, created: Int, activeProfile: ProfileSettings? = nil
    ) -> String {
        var rows: [(id: String, json: String)] = []
        for id in config.sortedModelIDs {
            guard let model = config.models[id], !model.unlisted else { continue }
            let status = states.map { modelStatus($0[id]) }
            var kind = [("type", "\"model\"")]
            if !model.aliases.isEmpty {
                kind.append(("aliases", "[" + model.aliases.map { JSONText.quote($0.id) }.joined(separator: ",") + "]"))
            }
            rows.append((id, modelRecord(id: id, model: model, name: model.name, status: status, created: created, kind: kind)))
            guard config.includeAliasesInList else { continue }
            for alias in model.aliases where !alias.unlisted && !alias.id.isEmpty {
                let json = modelRecord(
                    id: alias.id, model: model, name: alias.name ?? model.name, status: status, created: created,
                    kind: [("type", "\"alias\""), ("modelID", JSONText.quote(id))])
                rows.append((alias.id, json))
            }
        }
        rows += PeerRouting.modelListRows(config, withStatus: states != nil, created: created)
        for selector in config.selectors where !selector.unlisted {
            var kind = [
                ("type", "\"selector\""), ("strategy", JSONText.quote(selector.strategy.rawValue)),
                ("targets", "[" + selector.targets.map(JSONText.quote).joined(separator: ",") + "]"),
            ]
            if selector.strategy == .spillover { kind.append(("spillover", "\(selector.spillover)")) }
            let json = record(
                id: selector.id, name: selector.name, description: selector.description, metadata: selector.metadata,
                capabilities: ModelCapabilities(), status: states.map { selectorStatus(selector, config: config, states: $0) },
                created: created, kind: kind)
            rows.append((selector.id, json))
        }
        if let activeProfile {
            let taken = listedNames(config)
            var seen = Set<String>()
            for pin in activeProfile.pins where pin.target.map({ !$0.isEmpty }) == true && !taken.contains(pin.id) {
                guard seen.insert(pin.id).inserted else { continue }
                let json = record(
                    id: pin.id, name: nil, description: nil, metadata: nil, capabilities: ModelCapabilities(),
                    status: states == nil ? nil : "unloaded", created: created, kind: [("type", "\"profile\"")])
                rows.append((pin.id, json))
            }
        }
        rows.sort { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
        return "{\"object\":\"list\",\"data\":[\(rows.map(\.json).joined(separator: ","))]}"
    }

    /// `status.value` of a model, in llama-swap's two words: `loaded` while it has a process (starting, ready or
    /// stopping: llama-swap's "running" models), else `unloaded`. `GET /running` tells the states apart.
    static func modelStatus(_ state: String?) -> String {
        state == nil ? "unloaded" : "loaded"
    }

    /// A selector is `loaded` when a target it would pick runs or starts: any target for `warm` and `spillover`, the
    /// first for `pin` (llama-swap's rule).
    static func selectorStatus(_ selector: SelectorSettings, config: ProxyConfig, states: [String: String]) -> String {
        for target in selector.targets {
            if let id = config.model(named: target)?.id, let state = states[id], state == "ready" || state == "starting" {
                return "loaded"
            }
            if selector.strategy == .pin { break }
        }
        return "unloaded"
    }

    /// Every name a request can already use besides pins: model ids, aliases (listed or not), `peer/model`, a bare
    /// peer model id that resolves to its peer, selector ids. A pin named like one of these is not listed again.
    static func listedNames(_ config: ProxyConfig) -> Set<String> {
        var names = Set(config.models.keys).union(config.aliases.keys)
        for peer in config.peers {
            for model in peer.models {
                names.insert("\(peer.id)/\(model)")
                if PeerRouting.resolve(model, in: config.peers)?.peer.id == peer.id { names.insert(model) }
            }
        }
        names.formUnion(config.selectors.map(\.id))
        return names
    }

    /// Keys llama-swap's capability renderer owns: a model with `capabilities` loses these from its `metadata`.
    static let capabilityOwnedKeys: Set<String> = [
        "architecture", "capabilities", "supported_parameters", "context_length", "context_window",
    ]

    /// One model's (or alias's) entry.
    private static func modelRecord(
        id: String, model: ModelConfig, name: String?, status: String?, created: Int, kind: [(String, String)]
    ) -> String {
        record(
            id: id, name: name, description: model.description, metadata: model.metadata,
            capabilities: model.capabilities, status: status, created: created, kind: kind)
    }

    /// One entry of the list; `kind` are the `meta.llamaswap` members llama-swap adds (`type`, …) as JSON values.
    private static func record(
        id: String, name: String?, description: String?, metadata: ConfigValue?, capabilities: ModelCapabilities,
        status: String?, created: Int, kind: [(String, String)]
    ) -> String {
        var fields = [
            "\"id\":\(JSONText.quote(id))", "\"object\":\"model\"", "\"created\":\(created)",
            "\"owned_by\":\"llama-swap\"",
        ]
        if let name = trimmed(name) { fields.append("\"name\":\(JSONText.quote(name))") }
        if let description = trimmed(description) {
            fields.append("\"description\":\(JSONText.quote(description))")
        }
        fields += capabilityFields(capabilities)
        // meta.llamaswap: the metadata's members (those the renderer owns dropped when there are capabilities, and
        // those llama-swap's own members replace), then llama-swap's own.
        var members: [String] = []
        if case .mapping(let entries)? = metadata {
            let replaced = Set(kind.map(\.0))
            for entry in entries where !replaced.contains(entry.key)
                && (capabilities.isEmpty || !capabilityOwnedKeys.contains(entry.key))
            {
                members.append("\(JSONText.quote(entry.key)):\(entry.value.json)")
            }
        }
        members += kind.map { "\(JSONText.quote($0.0)):\($0.1)" }
        var meta = ["\"llamaswap\":{\(members.joined(separator: ","))}"]
        if capabilities.context > 0 { meta.append("\"n_ctx\":\(capabilities.context)") }
        fields.append("\"meta\":{\(meta.joined(separator: ","))}")
        if let status { fields.append("\"status\":{\"value\":\(JSONText.quote(status))}") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// llama-swap's rendering of `capabilities` (`renderCapabilities`): `architecture` (modalities in, out, and
    /// `in+…->out+…`), `capabilities` flags implied by them, `supported_parameters` for tools, and the context length
    /// under both names. Nothing for a model without capabilities.
    static func capabilityFields(_ capabilities: ModelCapabilities) -> [String] {
        guard !capabilities.isEmpty else { return [] }
        let input = capabilities.input, output = capabilities.output
        var fields: [String] = []
        func list(_ items: [String]) -> String { "[" + items.map(JSONText.quote).joined(separator: ",") + "]" }
        var architecture: [String] = []
        if !input.isEmpty { architecture.append("\"input_modalities\":\(list(input))") }
        if !input.isEmpty, !output.isEmpty {
            let modality = input.joined(separator: "+") + "->" + output.joined(separator: "+")
            architecture.append("\"modality\":\(JSONText.quote(modality))")
        }
        if !output.isEmpty { architecture.append("\"output_modalities\":\(list(output))") }
        if !architecture.isEmpty { fields.append("\"architecture\":{\(architecture.joined(separator: ","))}") }
        // Sorted by name, as Go writes a map.
        var flags: [String] = []
        if input.contains("text"), output.contains("audio") { flags.append("audio_speech") }
        if input.contains("audio"), output.contains("text") { flags.append("audio_transcriptions") }
        if capabilities.tools { flags.append("function_calling") }
        if input.contains("text"), output.contains("image") { flags.append("image_generation") }
        if input.contains("image"), output.contains("image") { flags.append("image_to_image") }
        if capabilities.reranker { flags.append("reranker") }
        if input.contains("image") { flags.append("vision") }
        if !flags.isEmpty { fields.append("\"capabilities\":{\(flags.map { "\"\($0)\":true" }.joined(separator: ","))}") }
        if capabilities.tools { fields.append("\"supported_parameters\":[\"tools\",\"tool_choice\"]") }
        if capabilities.context > 0 {
            fields.append("\"context_length\":\(capabilities.context)")
            fields.append("\"context_window\":\(capabilities.context)")
        }
        return fields
    }

    private static func trimmed(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return nil }
        return text
    }

    /// `GET /running`: `{"running":[…]}` with llama-swap's fields (`model`, `state`, `cmd`, `proxy`, `ttl` in
    /// seconds, 0 for never, `name`, `description`) and ours (`inFlight`).
    static func running(_ rows: [RunningModelSummary], config: ProxyConfig) -> String {
        let items = rows.map { row -> String in
            let model = config.models[row.model]
            let ttl = model?.ttl.map { Int($0.components.seconds) } ?? 0
            let fields = [
                "\"model\":\(JSONText.quote(row.model))", "\"state\":\(JSONText.quote(row.state))",
                "\"cmd\":\(JSONText.quote(model?.command?.joined(separator: " ") ?? ""))",
                "\"proxy\":\(JSONText.quote(model.map { "\($0.upstream)" } ?? ""))", "\"ttl\":\(ttl)",
                "\"name\":\(JSONText.quote(model?.name ?? ""))",
                "\"description\":\(JSONText.quote(model?.description ?? ""))", "\"inFlight\":\(row.inFlight)",
            ]
            return "{" + fields.joined(separator: ",") + "}"
        }
        return "{\"running\":[\(items.joined(separator: ","))]}"
    }

    /// `GET /api/version`: llama-swap's fields. The build carries no commit or date, so those say `unknown` rather
    /// than something made up.
    static let version =
        "{\"version\":\(JSONText.quote(ProxyInfo.version)),\"commit\":\"unknown\",\"build_date\":\"unknown\"}"

    /// Whether a `[source] text` log line belongs to `source`.
    static func logLine(_ line: String, belongsTo source: ProxyRoute.LogStreamSource) -> Bool {
        switch source {
        case .all: return true
        case .proxy: return line.hasPrefix("[proxy] ")
        case .upstream: return !line.hasPrefix("[proxy] ")
        case .model(let id): return line.hasPrefix("[\(id)] ")
        }
    }
}

/// llama-swap's CORS answers: every `OPTIONS` gets `204` with permissive `Access-Control-Allow-*` headers, and
/// `GET /v1/models` echoes the request's `Origin`.
enum Cors {
    static let allowedMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    static let defaultAllowedHeaders = "Content-Type, Authorization, Accept, X-Requested-With"

    static func preflight(requestedHeaders: String?) -> SimpleResponse {
        let requested = requestedHeaders.map(sanitizedHeaderNames) ?? ""
        let allowHeaders =
            requestedHeaders == nil || requestedHeaders?.isEmpty == true ? defaultAllowedHeaders : requested
        return SimpleResponse(
            status: 204,
            headers: [
                ("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", allowedMethods),
                ("Access-Control-Allow-Headers", allowHeaders), ("Access-Control-Max-Age", "86400"),
            ],
            body: "")
    }

    /// The comma-separated header names that are HTTP tokens, trimmed, joined by `, `; anything else is dropped
    /// (nothing the client sent is echoed unless it is a valid header name).
    static func sanitizedHeaderNames(_ value: String) -> String {
        value.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && $0.unicodeScalars.allSatisfy(isTokenCharacter) }
            .joined(separator: ", ")
    }

    private static func isTokenCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9": return true
        default: return "!#$%&'*+-.^_`|~".unicodeScalars.contains(scalar)
        }
    }
}

/// The API key a request presents, as llama-swap reads it: the password of `Authorization: Basic` (any user
/// name), else the `Bearer` token, else `x-api-key`. The first one present is the one checked.
enum APIKeyCredential {
    static func presented(in headers: HTTPHeaders) -> String? {
        var bearer: String?
        if let authorization = headers.first(name: "authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2 {
                let credential = parts[1].trimmingCharacters(in: .whitespaces)
                switch parts[0].lowercased() {
                case "basic":
                    if let data = Data(base64Encoded: credential), let decoded = String(data: data, encoding: .utf8),
                        let colon = decoded.firstIndex(of: ":")
                    {
                        let password = String(decoded[decoded.index(after: colon)...])
                        if !password.isEmpty { return password }
                    }
                case "bearer":
                    if !credential.isEmpty { bearer = credential }
                default: break
                }
            }
        }
        return bearer ?? headers.first(name: "x-api-key")
    }

    /// The `WWW-Authenticate` challenge sent with `401`, so a browser asks for the key.
    static let challenge = ("WWW-Authenticate", "Basic realm=\"llama-proxy\"")
}

extension ConfigValue {
    /// The value as JSON (mappings in their written order).
    var json: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return "\(value)"
        case .number(let value): return value.isFinite ? "\(value)" : "null"
        case .string(let value): return JSONText.quote(value)
        case .list(let values): return "[" + values.map(\.json).joined(separator: ",") + "]"
        case .mapping(let entries):
            return "{" + entries.map { JSONText.quote($0.key) + ":" + $0.value.json }.joined(separator: ",") + "}"
        }
    }

    /// An empty mapping or list (llama-swap leaves `meta` out when `metadata` has no keys).
    var isEmptyCollection: Bool {
        switch self {
        case .mapping(let entries): return entries.isEmpty
        case .list(let values): return values.isEmpty
        case .null: return true
        default: return false
        }
    }
}
