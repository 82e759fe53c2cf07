import Foundation
import LocatedYAML

// `peers`: other llama-swap hosts and OpenAI-compatible APIs, reached over http or https (``PeerRouting``).

extension ConfigLoading {
    /// The `timeouts` keys a peer honours: llama-swap's `connect`, `responseHeader`, `tlsHandshake` and `keepalive`,
    /// and this proxy's `streamIdle` (as for models). `idleConn` is warned about by name (nothing is kept idle).
    static let peerTimeoutKeys = ["connect", "responseHeader", "tlsHandshake", "keepalive", "idleConn", "streamIdle"]

    /// Reads `peers` (after the models, whose ids and aliases a peer model name must not take).
    mutating func readPeers(
        _ node: YAMLNode, key: SourceLocation, modelIDs: [String: ModelConfig] = [:], aliases: [String: String] = [:]
    ) throws(LocatedError) -> [PeerSettings] {
        var peers: [PeerSettings] = []
        // Fully qualified names (`peer/model`) seen so far, with where they were defined.
        var qualified: [String: (peer: String, model: String)] = [:]
        for entry in try reader.entries(node, "peers") {
            let id = entry.key
            let path = "peers.\(id)"
            let fields = try knownFields(
                entry.value, at: path, allowed: ["proxy", "apiKey", "models", "filters", "timeouts", "tailcatKey"],
                expecting: "the peer's settings (a mapping with proxy and models)", place: "peer '\(id)'")
            guard let proxyNode = fields["proxy"], !proxyNode.isNull else {
                throw LocatedError("\(path): proxy is required (the peer's base URL)", at: entry.keyNode.location)
            }
            let proxy = try reader.oneLine(proxyNode, "\(path).proxy")
            var upstream: UpstreamURL? = nil
            if proxy.lowercased().hasPrefix("tailcat://") {
                notSupportedYet(
                    "proxy", in: "peer '\(id)'", at: proxyNode.location, keyPath: "\(path).proxy",
                    detail: "tailcat:// peers")
            } else {
                switch UpstreamURL.parse(proxy, allowingHTTPS: true) {
                case .success(let url): upstream = url
                case .failure(let failure):
                    throw LocatedError("\(path).proxy: \(failure.reason), got '\(proxy)'", at: proxyNode.location)
                }
            }
            var models: [String] = []
            if let modelsNode = fields["models"] {
                for model in try reader.strings(modelsNode, "\(path).models") where !models.contains(model.value) {
                    if model.value.isEmpty {
                        throw LocatedError("\(path).models: a model id cannot be empty", at: model.location)
                    }
                    let name = "\(id)/\(model.value)"
                    if let earlier = qualified[name] {
                        throw LocatedError(
                            "\(path).models: the peer model name '\(name)' is ambiguous between peers.\(earlier.peer) "
                                + "model '\(earlier.model)' and peers.\(id) model '\(model.value)'",
                            at: model.location)
                    }
                    if modelIDs[name] != nil || aliases[name] != nil {
                        let what = modelIDs[name] != nil ? "id" : "alias"
                        throw LocatedError(
                            "\(path).models: the peer model name '\(name)' is already a model \(what); "
                                + "rename one of them",
                            at: model.location)
                    }
                    qualified[name] = (id, model.value)
                    models.append(model.value)
                }
            }
            if models.isEmpty {
                throw LocatedError(
                    "\(path): models is required (the model ids the peer serves)", at: entry.keyNode.location)
            }
            var peer = PeerSettings(
                id: id, proxy: proxy, apiKey: nil, models: models, filters: FilterSettings(),
                responseHeaderTimeout: .seconds(60), connectTimeout: .seconds(30), location: entry.keyNode.location)
            peer.upstream = upstream
            peer.streamIdleTimeout = streamIdleTimeout
            if let apiKey = fields["apiKey"], !apiKey.isNull {
                let text = try MacroExpander(globalMacros).expand(
                    try reader.string(apiKey, "\(path).apiKey"), keeping: [], at: apiKey.location,
                    field: "\(path).apiKey")
                if text.contains(where: { $0 == "\r" || $0 == "\n" }) {
                    throw LocatedError("\(path).apiKey: a key cannot contain a line break", at: apiKey.location)
                }
                peer.apiKey = text.isEmpty ? nil : text
            }
            if let tailcatKey = fields.entry("tailcatKey"), !tailcatKey.value.isNull {
                _ = try reader.string(tailcatKey.value, "\(path).tailcatKey")
                notSupportedYet(
                    "tailcatKey", in: "peer '\(id)'", at: tailcatKey.keyNode.location, keyPath: "\(path).tailcatKey")
            }
            let expander = MacroExpander(globalMacros)
            if let filtersNode = fields["filters"], !filtersNode.isNull {
                peer.filters = try filters(
                    filtersNode, path: "\(path).filters", place: "peer '\(id)'", allowByID: false,
                    expand: { text, location throws(LocatedError) in
                        try expander.expand(text, keeping: [], at: location, field: "\(path).filters")
                    })
            }
            if let timeouts = fields["timeouts"], !timeouts.isNull {
                let timeoutFields = try knownFields(
                    timeouts, at: "\(path).timeouts", allowed: ConfigLoading.peerTimeoutKeys,
                    place: "the timeouts of peer '\(id)'")
                for field in timeoutFields.entries where !field.value.isNull {
                    let value = try upstreamTimeout(field.value, keyPath: "\(path).timeouts.\(field.key)")
                    switch field.key {
                    case "connect": peer.connectTimeout = value
                    case "responseHeader": peer.responseHeaderTimeout = value
                    case "tlsHandshake": peer.tlsHandshakeTimeout = value
                    case "keepalive": peer.keepAlive = value
                    case "idleConn": peer.idleConnTimeout = value
                    default: peer.streamIdleTimeout = value
                    }
                }
            }
            peers.append(peer)
        }
        return peers
    }
}
