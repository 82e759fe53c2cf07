import Foundation
import Wire
import Yams

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
}

extension ConfigLoading {
    mutating func readModels(_ node: Node) throws(LocatedError) -> [String: RawModel] {
        if reader.isNull(node) { return [:] }
        var models: [String: RawModel] = [:]
        for (keyNode, value) in try reader.mapping(node, "models") {
            let id = try reader.key(keyNode)
            let path = "models.\(id)"
            guard !id.isEmpty else { throw reader.fail(keyNode, expected: "models: expected a model id") }
            let fields = try reader.mapping(
                value, path, expecting: "the model's settings (a mapping with cmd or proxy)")
            var model = RawModel(id: id, location: reader.location(of: keyNode))
            for (fieldNode, field) in fields {
                let key = try reader.key(fieldNode)
                let what = "\(path).\(key)"
                switch key {
                case "cmd": model.cmd = try reader.string(field, what)
                case "cmdStop": model.cmdStop = try reader.string(field, what)
                case "proxy": model.proxy = try reader.string(field, what)
                case "aliases": model.aliases = try aliases(field, what, modelID: id)
                case "env": model.env = try reader.strings(field, what)
                case "checkEndpoint": model.checkEndpoint = try reader.string(field, what)
                case "ttl": model.ttl = try ttl(field, what, allowInherit: true)
                case "unlisted": model.unlisted = try reader.bool(field, what) ?? false
                case "useModelName": model.useModelName = try reader.string(field, what)
                case "name": model.name = try reader.string(field, what)
                case "description": model.description = try reader.string(field, what)
                case "concurrencyLimit": model.concurrencyLimit = try reader.integer(field, what, in: 0...Int.max)
                case "sendLoadingState": model.sendLoadingState = try reader.bool(field, what)
                case "macros": model.macros = try macros(field, keyPath: what)
                case "heartbeatInterval": model.heartbeatInterval = try heartbeatInterval(field, keyPath: what)
                case "heartbeatComment": model.heartbeatComment = try heartbeatComment(field, keyPath: what)
                case "streamIdleTimeout": model.streamIdleTimeout = try upstreamTimeout(field, keyPath: what)
                case "timeouts": try timeouts(field, keyPath: what, into: &model)
                default:
                    reader.warn(
                        ConfigLoading.unknownKeyMessage(
                            key, in: "model '\(id)'", llamaSwapKeys: ConfigLoading.llamaSwapModelKeys),
                        at: fieldNode, keyPath: what)
                }
            }
            models[id] = model
        }
        return models
    }

    /// llama-swap's `timeouts` mapping: `responseHeader` (seconds) and our `streamIdle` are honoured; the
    /// connection-level ones of llama-swap's HTTP transport are named in a warning, since this proxy has no such
    /// settings (its upstreams are local; connect is bounded at 10 s).
    private mutating func timeouts(_ node: Node, keyPath: String, into model: inout RawModel) throws(LocatedError) {
        if reader.isNull(node) { return }
        for (keyNode, value) in try reader.mapping(node, keyPath) {
            let key = try reader.key(keyNode)
            let what = "\(keyPath).\(key)"
            switch key {
            case "responseHeader":
                model.responseHeaderTimeout = try upstreamTimeout(value, keyPath: what)
            case "streamIdle":
                model.timeoutsStreamIdle = try upstreamTimeout(value, keyPath: what)
            default:
                reader.warn(
                    ConfigLoading.unknownKeyMessage(
                        key, in: "the timeouts of model '\(model.id)'",
                        llamaSwapKeys: ConfigLoading.llamaSwapTimeoutKeys),
                    at: keyNode, keyPath: what)
            }
        }
    }

    private mutating func aliases(
        _ node: Node, _ what: String, modelID: String
    ) throws(LocatedError) -> [Located<ModelAlias>] {
        if reader.isNull(node) { return [] }
        let items: [Node] = if case .scalar = node { [node] } else { try reader.sequence(node, what) }
        var result: [Located<ModelAlias>] = []
        for item in items {
            if case .mapping(let mapping) = item {
                guard let idNode = mapping["id"], let id = try reader.string(idNode, "\(what).id"), !id.value.isEmpty
                else {
                    throw reader.fail(item, expected: "\(what): expected an alias name or {id: name}")
                }
                var alias = ModelAlias(id: id.value)
                if let nameNode = mapping["name"] { alias.name = try reader.string(nameNode, "\(what).name")?.value }
                if let unlistedNode = mapping["unlisted"] {
                    alias.unlisted = try reader.bool(unlistedNode, "\(what).unlisted") ?? false
                }
                for (keyNode, _) in mapping {
                    let key = try reader.key(keyNode)
                    if !["id", "name", "unlisted"].contains(key) {
                        reader.warn(
                            ConfigLoading.unknownKeyMessage(key, in: "an alias of '\(modelID)'", llamaSwapKeys: []),
                            at: keyNode, keyPath: "\(what).\(key)")
                    }
                }
                result.append(Located(value: alias, location: id.location))
            } else {
                guard let id = try? reader.string(item, what), !id.value.isEmpty else {
                    throw reader.fail(item, expected: "\(what): expected an alias name")
                }
                result.append(Located(value: ModelAlias(id: id.value), location: id.location))
            }
        }
        return result
    }

    /// Expands macros, assigns `${PORT}`, splits commands and applies defaults and global settings.
    func resolve(_ raw: RawModel, nextPort: inout Int) throws(LocatedError) -> ModelConfig {
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
                throw LocatedError(
                    "\(path).cmd does not use ${PORT}, so the default proxy \(ModelConfig.defaultProxy) has no port: use ${PORT} in cmd or set proxy to the server's URL",
                    at: raw.cmd!.location)
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

        let upstream: UpstreamURL
        switch UpstreamURL.parse(proxy.value) {
        case .success(let url): upstream = url
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
        return model
    }

    private func split(_ field: Located<String>?, _ what: String, emptyIsError: Bool) throws(LocatedError) -> [String]?
    {
        guard let field else { return nil }
        let argv: [String]
        do {
            argv = try CommandLineSplitter.split(field.value)
        } catch {
            throw LocatedError("\(what): \(error)", at: field.location)
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
