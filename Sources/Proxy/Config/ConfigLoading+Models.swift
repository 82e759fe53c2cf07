import Foundation
import LocatedYAML
import Wire

// Reading and resolving `models.<id>`.

/// A model as written, before macros, ports and defaults.
struct RawModel {
    var id: String
    var location: SourceLocation
    var cmd: Located<String>?
    var cmdStop: Located<String>?
    var proxy: Located<String>?
    var aliases: [Located<ModelAlias>] = []
    var env: [Located<String>] = []
    var checkEndpoint: Located<String>?
    var ttl: Duration?? = .none
    var unlisted = false
    var useModelName: Located<String>?
    var name: Located<String>?
    var description: Located<String>?
    var concurrencyLimit: Int?
    var sendLoadingState: Bool?
    var macros: [MacroExpander.Definition] = []
    var heartbeatInterval: Duration?? = .none
    var heartbeatComment: String?
    /// `timeouts.responseHeader`; `.some(nil)` is `0` (off for this model).
    var responseHeaderTimeout: Duration?? = .none
    /// `streamIdleTimeout`, or `timeouts.streamIdle` when that is absent.
    var streamIdleTimeout: Duration?? = .none
    var timeoutsStreamIdle: Duration?? = .none
    /// `timeouts.connect`, `keepalive`, `tlsHandshake`, `idleConn`: the upstream connection's options.
    var connection = UpstreamConnectionOptions()
    /// llama-swap settings read when macros are known (in `resolve`).
    var filtersNode: YAMLNode?
    var metadataNode: YAMLNode?
    var capabilities = ModelCapabilities()
    var unloadTimeout: Duration?
}

extension ConfigLoading {
    mutating func readModels(_ node: YAMLNode) throws(LocatedError) -> [String: RawModel] {
        if node.isNull { return [:] }
        var models: [String: RawModel] = [:]
        for entry in try reader.entries(node, "models") {
            let id = entry.key
            let path = "models.\(id)"
            guard !id.isEmpty else { throw reader.mismatch("models", expected: "a model id", got: entry.keyNode) }
            let fields = try knownFields(
                entry.value, at: path, allowed: ConfigLoader.modelKeys,
                expecting: "the model's settings (a mapping with cmd or proxy)", place: "model '\(id)'",
                llamaSwapKeys: ConfigLoading.llamaSwapModelKeys)
            var model = RawModel(id: id, location: entry.keyNode.location)
            for field in fields.entries where !field.value.isNull {
                let value = field.value
                let what = "\(path).\(field.key)"
                switch field.key {
                case "cmd": model.cmd = try reader.locatedString(value, what)
                case "cmdStop": model.cmdStop = try reader.locatedString(value, what)
                case "proxy": model.proxy = try reader.locatedString(value, what)
                case "aliases": model.aliases = try aliases(value, what, modelID: id)
                case "env": model.env = try reader.strings(value, what)
                case "checkEndpoint": model.checkEndpoint = try reader.locatedString(value, what)
                case "ttl": model.ttl = try ttl(value, what, allowInherit: true)
                case "unlisted": model.unlisted = try reader.bool(value, what)
                case "useModelName": model.useModelName = try reader.locatedString(value, what)
                case "name": model.name = try reader.locatedString(value, what)
                case "description": model.description = try reader.locatedString(value, what)
                case "concurrencyLimit": model.concurrencyLimit = try reader.integer(value, what, in: 0...Int.max)
                case "sendLoadingState": model.sendLoadingState = try reader.bool(value, what)
                case "macros": model.macros = try macros(value, keyPath: what)
                case "heartbeatInterval": model.heartbeatInterval = try heartbeatInterval(value, keyPath: what)
                case "heartbeatComment": model.heartbeatComment = try heartbeatComment(value, keyPath: what)
                case "streamIdleTimeout": model.streamIdleTimeout = try upstreamTimeout(value, keyPath: what)
                case "timeouts": try timeouts(value, keyPath: what, into: &model)
                case "filters": model.filtersNode = value
                case "metadata": model.metadataNode = value
                case "capabilities": model.capabilities = try capabilities(value, path: what, modelID: id)
                case "unloadTimeout":
                    model.unloadTimeout = try unloadTimeout(value, what)
                default: break  // ConfigLoader.modelKeys; unknown keys were warned about above
                }
            }
            models[id] = model
        }
        return models
    }

    /// llama-swap's `timeouts` mapping (seconds or durations; `0` turns one off): `responseHeader`, our
    /// `streamIdle`, and its transport's `connect` (default ours, 10 s: a local upstream that does not answer must
    /// fail fast), `keepalive` (TCP keep-alive probes; default off), `idleConn` (pooled idle connections close after
    /// at most this long) and `tlsHandshake` (read; a model's upstream is plain http, as in llama-swap it then does
    /// nothing).
    private mutating func timeouts(_ node: YAMLNode, keyPath: String, into model: inout RawModel) throws(LocatedError) {
        let fields = try knownFields(
            node, at: keyPath, allowed: ConfigLoader.timeoutKeys, place: "the timeouts of model '\(model.id)'")
        for field in fields.entries where !field.value.isNull {
            let what = "\(keyPath).\(field.key)"
            switch field.key {
            case "responseHeader": model.responseHeaderTimeout = try upstreamTimeout(field.value, keyPath: what)
            case "streamIdle": model.timeoutsStreamIdle = try upstreamTimeout(field.value, keyPath: what)
            case "connect": model.connection.connectTimeout = try upstreamTimeout(field.value, keyPath: what)
            case "keepalive": model.connection.keepAlive = try upstreamTimeout(field.value, keyPath: what)
            case "tlsHandshake": model.connection.tlsHandshakeTimeout = try upstreamTimeout(field.value, keyPath: what)
            case "idleConn": model.connection.idleConnTimeout = try upstreamTimeout(field.value, keyPath: what)
            default: break  // ConfigLoader.timeoutKeys
            }
        }
    }

    private mutating func aliases(
        _ node: YAMLNode, _ what: String, modelID: String
    ) throws(LocatedError) -> [Located<ModelAlias>] {
        let items: [YAMLNode] = node.scalar != nil ? [node] : try reader.list(node, what, of: "alias names")
        var result: [Located<ModelAlias>] = []
        for item in items {
            if item.mapping != nil {
                let fields = try knownFields(
                    item, at: what, allowed: ConfigLoader.aliasKeys, place: "an alias of '\(modelID)'")
                let noID = reader.mismatch(what, expected: "an alias name or {id: name}", got: item)
                guard let idNode = fields["id"], !idNode.isNull else { throw noID }
                let id = try reader.locatedString(idNode, "\(what).id")
                guard !id.value.isEmpty else { throw noID }
                var alias = ModelAlias(id: id.value)
                if let nameNode = fields["name"], !nameNode.isNull {
                    alias.name = try reader.string(nameNode, "\(what).name")
                }
                if let unlistedNode = fields["unlisted"], !unlistedNode.isNull {
                    alias.unlisted = try reader.bool(unlistedNode, "\(what).unlisted")
                }
                result.append(Located(value: alias, location: id.location))
            } else {
                guard !item.isNull, let id = try? reader.locatedString(item, what), !id.value.isEmpty else {
                    throw reader.mismatch(what, expected: "an alias name", got: item)
                }
                result.append(Located(value: ModelAlias(id: id.value), location: id.location))
            }
        }
        return result
    }

    /// Expands macros, assigns `${PORT}`, splits commands and applies defaults and global settings.
    mutating func resolve(_ raw: RawModel, nextPort: inout Int) throws(LocatedError) -> ModelConfig? {
        let path = "models.\(raw.id)"
        let modelIDMacro = MacroExpander.Definition(name: "MODEL_ID", value: raw.id, location: raw.location)
        let expander = MacroExpander([modelIDMacro] + globalMacros + raw.macros)
        try expander.checkCycles()

        func expand(_ field: Located<String>?, _ name: String, keeping: Set<String> = ["PORT"]) throws(LocatedError)
            -> Located<String>?
        {
            guard let field else { return nil }
            let text =
                name == "cmd" || name == "cmdStop"
                ? CommandLineSplitter.strippingCommentLines(field.value) : field.value
            return Located(
                value: try expander.expand(text, keeping: keeping, at: field.location, field: "\(path).\(name)"),
                location: field.location)
        }

        var cmd = try expand(raw.cmd, "cmd")
        var cmdStop = try expand(raw.cmdStop, "cmdStop", keeping: ["PORT", "PID"])
        let proxyWritten = raw.proxy ?? Located(value: ModelConfig.defaultProxy, location: raw.location)
        var proxy = try expand(proxyWritten, "proxy")!
        var name = try expand(raw.name, "name")
        var description = try expand(raw.description, "description")
        let checkEndpoint = try expand(raw.checkEndpoint, "checkEndpoint", keeping: [])
        let useModelName = try expand(raw.useModelName, "useModelName", keeping: [])
        var aliases: [ModelAlias] = []
        for alias in raw.aliases {
            var resolved = alias.value
            resolved.id = try expander.expand(alias.value.id, keeping: [], at: alias.location, field: "\(path).aliases")
            aliases.append(resolved)
        }

        // Split once before ports are filled in, so a broken cmd is reported as such, not as a port problem.
        let commandTemplate = try split(cmd, "\(path).cmd", emptyIsError: true)
        let stopCommandTemplate = try split(cmdStop, "\(path).cmdStop", emptyIsError: false)

        let proxyUsesPort = proxy.value.contains("${PORT}")
        // ${PORT}: one port per model whose cmd uses it, in sorted id order, as llama-swap assigns them.
        let cmdUsesPort = cmd?.value.contains("${PORT}") ?? false
        var port: Int? = nil
        if cmdUsesPort {
            guard nextPort <= 65535 else {
                throw LocatedError(
                    "\(path).cmd: no port left for ${PORT} (startPort \(startPort) plus one per model passes 65535)",
                    at: cmd!.location)
            }
            port = nextPort
            nextPort += 1
            let value = String(nextPort - 1)
            func fill(_ field: inout Located<String>?) {
                if let text = field?.value { field?.value = text.replacingOccurrences(of: "${PORT}", with: value) }
            }
            fill(&cmd)
            fill(&cmdStop)
            fill(&name)
            fill(&description)
            proxy.value = proxy.value.replacingOccurrences(of: "${PORT}", with: value)
        } else if proxy.value.contains("${PORT}") {
            if raw.cmd == nil {
                throw LocatedError(
                    "model '\(raw.id)' has no cmd, so the proxy does not start it: set proxy to the URL of the server that is already running",
                    at: raw.location)
            } else if raw.proxy == nil {
                // llama-swap refuses the whole config; its own example has such a model, so it is left out, loudly.
                warnings.append(
                    ConfigWarning(
                        "model '\(raw.id)' is left out: its cmd does not use ${PORT}, so the default proxy \(ModelConfig.defaultProxy) has no port (use ${PORT} in cmd or set proxy to the server's URL)",
                        at: raw.cmd!.location, keyPath: "\(path).cmd"))
                return nil
            } else {
                throw LocatedError(
                    "\(path).proxy uses ${PORT} but cmd does not: ${PORT} is only assigned when cmd uses it",
                    at: proxy.location)
            }
        }
        for field in [cmdStop, name, description].compactMap({ $0 }) where field.value.contains("${PORT}") {
            throw LocatedError(
                "\(path): ${PORT} is used but cmd does not use it, so no port is assigned", at: field.location)
        }

        let command = try split(cmd, "\(path).cmd", emptyIsError: true)
        let stopCommand = try split(cmdStop, "\(path).cmdStop", emptyIsError: false)

        var upstream: UpstreamURL
        switch UpstreamURL.parse(proxy.value) {
        case .success(let url):
            upstream = url
            upstream.connection = raw.connection
        case .failure(let failure):
            throw LocatedError(
                "\(path).proxy: \(failure.reason), got \(JSONText.quote(proxy.value))", at: proxy.location)
        }

        var endpoint: String? = ModelConfig.defaultCheckEndpoint
        if let checkEndpoint {
            let value = checkEndpoint.value.trimmingCharacters(in: .whitespaces)
            if value.lowercased() == "none" {
                endpoint = nil
            } else if value.hasPrefix("/") {
                endpoint = value
            } else {
                throw LocatedError(
                    "\(path).checkEndpoint: expected a path starting with / (such as /health) or none, got \(JSONText.quote(value))",
                    at: checkEndpoint.location)
            }
        }

        var environment: [String: String] = [:]
        for entry in raw.env {
            guard let equals = entry.value.firstIndex(of: "="), equals != entry.value.startIndex else {
                throw LocatedError(
                    "\(path).env: expected NAME=value, got \(JSONText.quote(entry.value))", at: entry.location)
            }
            environment[String(entry.value[..<equals])] = String(entry.value[entry.value.index(after: equals)...])
        }

        var heartbeat = self.heartbeat
        var streamIdleTimeout = self.streamIdleTimeout
        if case .some(let timeout) = raw.timeoutsStreamIdle { streamIdleTimeout = timeout }
        if case .some(let timeout) = raw.streamIdleTimeout { streamIdleTimeout = timeout }
        var responseHeaderTimeout = self.responseHeaderTimeout
        if case .some(let timeout) = raw.responseHeaderTimeout { responseHeaderTimeout = timeout }
        if case .some(let interval) = raw.heartbeatInterval { heartbeat.interval = interval }
        if let comment = raw.heartbeatComment { heartbeat.comment = comment }
        let ttl: Duration? = if case .some(let value) = raw.ttl { value } else { globalTTL }

        // The supervisor may move a ${PORT} model off a port another process holds: keep the unfilled argvs, but
        // only when the proxy URL is the one ${PORT} made (a proxy: with its own port cannot follow a move).
        let portTemplate =
            port != nil && proxyUsesPort
            ? ModelConfig.PortTemplate(command: commandTemplate ?? [], stopCommand: stopCommandTemplate) : nil
        var model = ModelConfig(
            id: raw.id, command: command, stopCommand: stopCommand, upstream: upstream, port: port, aliases: aliases,
            environment: environment, checkEndpoint: endpoint, ttl: ttl, unlisted: raw.unlisted,
            useModelName: useModelName?.value.isEmpty == false ? useModelName?.value : nil,
            name: name?.value.isEmpty == false ? name?.value : nil,
            description: description?.value.isEmpty == false ? description?.value : nil,
            concurrencyLimit: raw.concurrencyLimit.flatMap { $0 > 0 ? $0 : nil } ?? ModelConfig.defaultConcurrencyLimit,
            sendLoadingState: raw.sendLoadingState ?? sendLoadingState, heartbeat: heartbeat,
            responseHeaderTimeout: responseHeaderTimeout, streamIdleTimeout: streamIdleTimeout, location: raw.location)
        model.portTemplate = portTemplate
        model.capabilities = raw.capabilities
        model.unloadTimeout = raw.unloadTimeout

        // filters and metadata: macros (and ${PORT}) expanded in their strings, as llama-swap does.
        let portText = port.map(String.init)
        func expandData(_ what: String) -> (String, SourceLocation) throws(LocatedError) -> String {
            { text, location throws(LocatedError) in
                var value = try expander.expand(text, keeping: ["PORT"], at: location, field: what)
                if value.contains("${PORT}") {
                    guard let portText else {
                        throw LocatedError(
                            "\(what): ${PORT} is used but cmd does not use it, so no port is assigned", at: location)
                    }
                    value = value.replacingOccurrences(of: "${PORT}", with: portText)
                }
                return value
            }
        }
        if let node = raw.metadataNode {
            model.metadata = try configValue(node, "\(path).metadata", expand: expandData("\(path).metadata"))
        }
        if let node = raw.filtersNode {
            model.filters = try filters(
                node, path: "\(path).filters", place: "model '\(raw.id)'", allowByID: true,
                expand: expandData("\(path).filters"))
            for (id, _) in model.filters.setParamsByID
            where id != raw.id && !model.aliases.contains(where: { $0.id == id }) {
                model.aliases.append(ModelAlias(id: id))
            }
        }
        return model
    }

    private func split(_ field: Located<String>?, _ what: String, emptyIsError: Bool) throws(LocatedError) -> [String]?
    {
        guard let field else { return nil }
        let argv: [String]
        do {
            argv = try CommandLineSplitter.split(field.value)
        } catch {
            throw LocatedError("\(what): \(error)", at: field.location, underlying: error)
        }
        if argv.isEmpty {
            if emptyIsError {
                throw LocatedError("\(what): the command is empty (only blanks or comments)", at: field.location)
            }
            return nil
        }
        return argv
    }
}
