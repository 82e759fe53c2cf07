import Foundation
import Logging
import Wire
import Yams

/// Loads a llama-swap-compatible `config.yaml` into a `ProxyConfig`.
///
/// It walks the composed YAML tree (not `Decodable`) so that every value keeps its line and column: invalid values
/// are errors saying `file:line:column: what was expected, got what`, and keys this proxy does not know (llama-swap
/// features it lacks, typos) are warnings with their place — a llama-swap config must load, never crash.
public enum ConfigLoader {
    /// Loads the config at `path`.
    public static func load(
        contentsOf path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(LocatedError) -> (ProxyConfig, [ConfigWarning]) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LocatedError(
                "cannot read the config file: \(error.localizedDescription)",
                at: SourceLocation(file: path, line: 1, column: 1)
            )
        }
        return try load(yaml: text, file: path, environment: environment)
    }

    /// Loads config text; `file` is the name used in errors and warnings.
    /// - Parameter environment: the variables `${env.NAME}` may use (the process environment by default).
    public static func load(
        yaml: String, file: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(LocatedError) -> (ProxyConfig, [ConfigWarning]) {
        var loader = Loader(reader: YAMLReader(file: file, environment: environment))
        let config = try loader.load(yaml)
        return (config, loader.reader.warnings.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) })
    }

    /// Top-level keys this proxy understands (everything else is warned about).
    public static let topLevelKeys: [String] = [
        "healthCheckTimeout", "logLevel", "startPort", "sendLoadingState", "globalTTL", "macros", "apiKeys",
        "models", "groups", "heartbeatInterval", "heartbeatComment",
    ]
    /// Keys understood inside `models.<id>`.
    public static let modelKeys: [String] = [
        "cmd", "cmdStop", "proxy", "aliases", "env", "checkEndpoint", "ttl", "unlisted", "useModelName", "name",
        "description", "concurrencyLimit", "sendLoadingState", "macros", "heartbeatInterval", "heartbeatComment",
    ]
    /// Keys understood inside `groups.<id>`.
    public static let groupKeys: [String] = ["swap", "exclusive", "persistent", "members"]
}

/// The state of one load: the reader (with its warnings) and the global settings read so far.
private struct Loader {
    var reader: YAMLReader
    var file: String { reader.file }

    var healthCheckTimeout = ProxyConfig.defaultHealthCheckTimeout
    var logLevel: Logger.Level = .info
    var startPort = ProxyConfig.defaultStartPort
    var globalTTL: Duration? = nil
    var apiKeys: [String] = []
    var sendLoadingState = false
    var heartbeat = HeartbeatSettings()
    var globalMacros: [MacroExpander.Definition] = []

    mutating func load(_ text: String) throws(LocatedError) -> ProxyConfig {
        let root = try compose(text)
        guard let root, !reader.isNull(root) else {
            throw LocatedError(
                "the config is empty: expected a mapping with at least a models section",
                at: SourceLocation(file: file, line: 1, column: 1))
        }
        let top = try reader.mapping(root, "the config")
        var modelsNode: Node? = nil
        var groupsNode: Node? = nil

        for (keyNode, value) in top {
            let key = try reader.key(keyNode)
            switch key {
            case "healthCheckTimeout":
                if let timeout = try reader.duration(value, "healthCheckTimeout") {
                    if timeout < ProxyConfig.minimumHealthCheckTimeout {
                        reader.warn(
                            "healthCheckTimeout \(format(timeout)) is below the minimum of 15 s; using 15 s, as llama-swap does",
                            at: value, keyPath: key)
                        healthCheckTimeout = ProxyConfig.minimumHealthCheckTimeout
                    } else {
                        healthCheckTimeout = timeout
                    }
                }
            case "logLevel":
                if let level = try reader.string(value, "logLevel") {
                    guard let parsed = Loader.logLevels[level.value.lowercased()] else {
                        throw reader.fail(value, expected: "logLevel: expected one of debug, info, warn, error")
                    }
                    logLevel = parsed
                }
            case "startPort":
                startPort = try reader.integer(value, "startPort", in: 1...65535) ?? startPort
            case "sendLoadingState":
                sendLoadingState = try reader.bool(value, "sendLoadingState") ?? sendLoadingState
            case "globalTTL":
                globalTTL = try ttl(value, "globalTTL", allowInherit: false) ?? nil
            case "macros":
                globalMacros = try macros(value, keyPath: "macros")
            case "apiKeys":
                for apiKey in try reader.strings(value, "apiKeys") {
                    if apiKey.value.isEmpty {
                        throw LocatedError("apiKeys: expected a non-empty key, got an empty string", at: apiKey.location)
                    }
                    if apiKey.value.contains(where: \.isWhitespace) {
                        throw LocatedError("apiKeys: a key cannot contain spaces, got \(JSONText.quote(apiKey.value))", at: apiKey.location)
                    }
                    apiKeys.append(apiKey.value)
                }
            case "models":
                modelsNode = value
            case "groups":
                groupsNode = value
            case "heartbeatInterval":
                heartbeat.interval = try heartbeatInterval(value, keyPath: key) ?? heartbeat.interval
            case "heartbeatComment":
                heartbeat.comment = try heartbeatComment(value, keyPath: key) ?? heartbeat.comment
            default:
                reader.warn(
                    Loader.unknownKeyMessage(key, in: "the top level", llamaSwapKeys: Loader.llamaSwapTopLevelKeys),
                    at: keyNode, keyPath: key)
            }
        }

        try MacroExpander(globalMacros).checkCycles()

        guard let modelsNode else {
            throw LocatedError(
                "the config has no models section: add models with at least one model",
                at: reader.location(of: root))
        }
        let rawModels = try readModels(modelsNode)
        var models: [String: ModelConfig] = [:]
        var aliases: [String: (model: String, location: SourceLocation)] = [:]
        var nextPort = startPort
        for id in ProxyConfig.sortedIDs(rawModels.keys) {
            let model = try resolve(rawModels[id]!, nextPort: &nextPort)
            for alias in model.aliases {
                let written = rawModels[id]!.aliases.first { $0.value.id == alias.id }?.location ?? model.location!
                if let other = aliases[alias.id] {
                    throw LocatedError(
                        "alias '\(alias.id)' is already used by model '\(other.model)' (\(other.location)); aliases must be unique",
                        at: written)
                }
                if rawModels[alias.id] != nil {
                    reader.warnings.append(ConfigWarning(
                        "alias '\(alias.id)' of model '\(id)' is also a model id; requests for it go to that model",
                        at: written, keyPath: "models.\(id).aliases"))
                }
                aliases[alias.id] = (id, written)
            }
            models[id] = model
        }

        let groups = try readGroups(groupsNode, models: models, aliases: aliases.mapValues(\.model))
        return ProxyConfig(
            healthCheckTimeout: healthCheckTimeout, logLevel: logLevel, startPort: startPort, globalTTL: globalTTL,
            apiKeys: apiKeys, sendLoadingState: sendLoadingState, heartbeat: heartbeat, models: models,
            groups: groups, aliases: aliases.mapValues(\.model))
    }

    // MARK: - YAML

    func compose(_ text: String) throws(LocatedError) -> Node? {
        do {
            return try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw locatedError(error)
        } catch {
            throw LocatedError("cannot read the YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    func locatedError(_ error: YamlError) -> LocatedError {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            let while_ = context.map { " (\($0.text))" } ?? ""
            return LocatedError("invalid YAML: \(problem)\(while_)", at: at(mark))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return LocatedError("invalid YAML: the key \(keys) appears twice in the same mapping", at: at(context.mark))
        case .reader(let problem, _, _, _):
            return LocatedError("invalid YAML text: \(problem)", at: SourceLocation(file: file, line: 1, column: 1))
        default:
            return LocatedError("invalid YAML: \(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    // MARK: - Values shared by the top level and models

    /// A TTL: a duration, `0` for never; models also accept llama-swap's `-1` ("use globalTTL", returned as nil).
    /// The outer optional is "not set / inherit"; the inner is "never unload".
    func ttl(_ node: Node, _ what: String, allowInherit: Bool) throws(LocatedError) -> Duration?? {
        if reader.isNull(node) { return .none }
        if allowInherit, try reader.text(node, what).trimmingCharacters(in: .whitespaces) == "-1" { return .none }
        guard let duration = try reader.duration(node, what) else { return .none }
        return .some(duration == .zero ? nil : duration)
    }

    mutating func heartbeatInterval(_ node: Node, keyPath: String) throws(LocatedError) -> Duration?? {
        guard let interval = try reader.duration(node, keyPath) else { return .none }
        if interval == .zero { return .some(nil) }
        if interval < HeartbeatSettings.warningThreshold {
            reader.warn(
                "heartbeatInterval \(format(interval)) is under 1 s: fine for tests, very chatty for real clients",
                at: node, keyPath: keyPath)
        }
        return .some(interval)
    }

    func heartbeatComment(_ node: Node, keyPath: String) throws(LocatedError) -> String? {
        guard let comment = try reader.string(node, keyPath) else { return nil }
        if comment.value.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            throw reader.fail(node, expected: "\(keyPath): expected one line of text without CR or LF")
        }
        return comment.value
    }

    /// A `macros` mapping, in written order.
    func macros(_ node: Node, keyPath: String) throws(LocatedError) -> [MacroExpander.Definition] {
        if reader.isNull(node) { return [] }
        var result: [MacroExpander.Definition] = []
        for (keyNode, value) in try reader.mapping(node, keyPath) {
            let name = try reader.key(keyNode)
            guard MacroExpander.isValidName(name) else {
                throw reader.fail(keyNode, expected: "\(keyPath): expected a macro name of letters, digits, _ or - (under 64 characters)")
            }
            if MacroExpander.reservedNames.contains(name) {
                throw LocatedError("\(keyPath): '\(name)' is reserved and filled in by the proxy; choose another name", at: reader.location(of: keyNode))
            }
            guard case .scalar = value, !reader.isNull(value) else {
                throw reader.fail(value, expected: "\(keyPath).\(name): expected a text, number or boolean value")
            }
            let text = try reader.text(value, "\(keyPath).\(name)")
            result.append(MacroExpander.Definition(name: name, value: text, location: reader.location(of: value)))
        }
        return result
    }

    func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        return seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }

    static let logLevels: [String: Logger.Level] = [
        "trace": .trace, "debug": .debug, "info": .info, "notice": .notice, "warn": .warning, "warning": .warning,
        "error": .error, "critical": .critical,
    ]

    /// A warning that names llama-swap features as such, so a user migrating knows it is not a typo.
    static func unknownKeyMessage(_ key: String, in place: String, llamaSwapKeys: Set<String>) -> String {
        if llamaSwapKeys.contains(key) {
            return "'\(key)' in \(place) is a llama-swap setting this proxy does not support; ignored"
        }
        return "unknown key '\(key)' in \(place) is ignored (a typo?)"
    }

    /// llama-swap settings this proxy knows of but does not implement (see docs/config-compat.md).
    static let llamaSwapTopLevelKeys: Set<String> = [
        "logRequests", "logTimeFormat", "logToStdout", "metricsMaxInMemory", "captureBuffer", "includeAliasesInList",
        "hooks", "peers", "profiles", "matrix", "unloadTimeout", "store", "ui", "performance", "tailcat", "upstream",
        "selectors",
    ]
    static let llamaSwapModelKeys: Set<String> = ["filters", "metadata", "timeouts", "unloadTimeout", "compat"]
}

// MARK: - Models

/// A model as written, before macros, ports and defaults.
private struct RawModel {
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
}

extension Loader {
    fileprivate mutating func readModels(_ node: Node) throws(LocatedError) -> [String: RawModel] {
        if reader.isNull(node) { return [:] }
        var models: [String: RawModel] = [:]
        for (keyNode, value) in try reader.mapping(node, "models") {
            let id = try reader.key(keyNode)
            let path = "models.\(id)"
            guard !id.isEmpty else { throw reader.fail(keyNode, expected: "models: expected a model id") }
            let fields = try reader.mapping(value, "\(path): expected the model's settings (at least cmd or proxy);")
            var model = RawModel(id: id, location: reader.location(of: keyNode))
            for (fieldNode, field) in fields {
                let key = try reader.key(fieldNode)
                let what = "\(path).\(key)"
                switch key {
                case "cmd": model.cmd = try reader.string(field, what)
                case "cmdStop": model.cmdStop = try reader.string(field, what)
                case "proxy": model.proxy = try reader.string(field, what)
                case "aliases": model.aliases = try aliases(field, what)
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
                default:
                    reader.warn(
                        Loader.unknownKeyMessage(key, in: "model '\(id)'", llamaSwapKeys: Loader.llamaSwapModelKeys),
                        at: fieldNode, keyPath: what)
                }
            }
            models[id] = model
        }
        return models
    }

    private func aliases(_ node: Node, _ what: String) throws(LocatedError) -> [Located<ModelAlias>] {
        if reader.isNull(node) { return [] }
        let items: [Node] = if case .scalar = node { [node] } else { try reader.sequence(node, what) }
        var result: [Located<ModelAlias>] = []
        for item in items {
            if case .mapping(let mapping) = item {
                guard let idNode = mapping["id"], let id = try reader.string(idNode, "\(what).id"), !id.value.isEmpty else {
                    throw reader.fail(item, expected: "\(what): expected an alias name or {id: name}")
                }
                var alias = ModelAlias(id: id.value)
                if let nameNode = mapping["name"] { alias.name = try reader.string(nameNode, "\(what).name")?.value }
                if let unlistedNode = mapping["unlisted"] { alias.unlisted = try reader.bool(unlistedNode, "\(what).unlisted") ?? false }
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
    fileprivate func resolve(_ raw: RawModel, nextPort: inout Int) throws(LocatedError) -> ModelConfig {
        let path = "models.\(raw.id)"
        let modelIDMacro = MacroExpander.Definition(name: "MODEL_ID", value: raw.id, location: raw.location)
        let expander = MacroExpander([modelIDMacro] + globalMacros + raw.macros)
        try expander.checkCycles()

        func expand(_ field: Located<String>?, _ name: String, keeping: Set<String> = ["PORT"]) throws(LocatedError) -> Located<String>? {
            guard let field else { return nil }
            let text = name == "cmd" || name == "cmdStop" ? CommandLineSplitter.strippingCommentLines(field.value) : field.value
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
        _ = try split(cmd, "\(path).cmd", emptyIsError: true)
        _ = try split(cmdStop, "\(path).cmdStop", emptyIsError: false)

        // ${PORT}: one port per model whose cmd uses it, in sorted id order, as llama-swap assigns them.
        let cmdUsesPort = cmd?.value.contains("${PORT}") ?? false
        var port: Int? = nil
        if cmdUsesPort {
            guard nextPort <= 65535 else {
                throw LocatedError("\(path).cmd: no port left for ${PORT} (startPort \(startPort) plus one per model passes 65535)", at: cmd!.location)
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
            throw LocatedError("\(path): ${PORT} is used but cmd does not use it, so no port is assigned", at: field.location)
        }

        let command = try split(cmd, "\(path).cmd", emptyIsError: true)
        let stopCommand = try split(cmdStop, "\(path).cmdStop", emptyIsError: false)

        let upstream: UpstreamURL
        switch UpstreamURL.parse(proxy.value) {
        case .success(let url): upstream = url
        case .failure(let failure):
            throw LocatedError("\(path).proxy: \(failure.reason), got \(JSONText.quote(proxy.value))", at: proxy.location)
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
                throw LocatedError("\(path).env: expected NAME=value, got \(JSONText.quote(entry.value))", at: entry.location)
            }
            environment[String(entry.value[..<equals])] = String(entry.value[entry.value.index(after: equals)...])
        }

        var heartbeat = self.heartbeat
        if case .some(let interval) = raw.heartbeatInterval { heartbeat.interval = interval }
        if let comment = raw.heartbeatComment { heartbeat.comment = comment }
        let ttl: Duration? = if case .some(let value) = raw.ttl { value } else { globalTTL }

        return ModelConfig(
            id: raw.id, command: command, stopCommand: stopCommand, upstream: upstream, port: port, aliases: aliases,
            environment: environment, checkEndpoint: endpoint, ttl: ttl, unlisted: raw.unlisted,
            useModelName: useModelName?.value.isEmpty == false ? useModelName?.value : nil,
            name: name?.value.isEmpty == false ? name?.value : nil,
            description: description?.value.isEmpty == false ? description?.value : nil,
            concurrencyLimit: raw.concurrencyLimit.flatMap { $0 > 0 ? $0 : nil } ?? ModelConfig.defaultConcurrencyLimit,
            sendLoadingState: raw.sendLoadingState ?? sendLoadingState, heartbeat: heartbeat, location: raw.location)
    }

    private func split(_ field: Located<String>?, _ what: String, emptyIsError: Bool) throws(LocatedError) -> [String]? {
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

// MARK: - Groups

extension Loader {
    fileprivate mutating func readGroups(
        _ node: Node?, models: [String: ModelConfig], aliases: [String: String]
    ) throws(LocatedError) -> [GroupConfig] {
        var groups: [GroupConfig] = []
        var memberOf: [String: (group: String, location: SourceLocation)] = [:]
        if let node, !reader.isNull(node) {
            for (keyNode, value) in try reader.mapping(node, "groups") {
                let id = try reader.key(keyNode)
                let path = "groups.\(id)"
                if id == GroupConfig.defaultGroupID {
                    throw LocatedError("groups: '\(id)' is the name of the default group; choose another name", at: reader.location(of: keyNode))
                }
                var group = GroupConfig(id: id, members: [], location: reader.location(of: keyNode))
                let fields = try reader.mapping(value, "\(path): expected the group's settings (at least members);")
                for (fieldNode, field) in fields {
                    let key = try reader.key(fieldNode)
                    let what = "\(path).\(key)"
                    switch key {
                    case "swap": group.swap = try reader.bool(field, what) ?? true
                    case "exclusive": group.exclusive = try reader.bool(field, what) ?? true
                    case "persistent": group.persistent = try reader.bool(field, what) ?? false
                    case "members":
                        for member in try reader.strings(field, what) {
                            if group.members.contains(member.value) {
                                throw LocatedError("\(what): model '\(member.value)' is listed twice", at: member.location)
                            }
                            if let other = memberOf[member.value] {
                                throw LocatedError(
                                    "\(what): model '\(member.value)' is already a member of group '\(other.group)' (\(other.location)); a model can be in one group only",
                                    at: member.location)
                            }
                            guard models[member.value] != nil else {
                                let hint = aliases[member.value].map { " (it is an alias of '\($0)': list the model id)" }
                                    ?? ""
                                reader.warnings.append(ConfigWarning(
                                    "group '\(id)' lists '\(member.value)', which is not a model defined under models\(hint); ignored",
                                    at: member.location, keyPath: what))
                                continue
                            }
                            memberOf[member.value] = (id, member.location)
                            group.members.append(member.value)
                        }
                    default:
                        reader.warn(
                            Loader.unknownKeyMessage(key, in: "group '\(id)'", llamaSwapKeys: []),
                            at: fieldNode, keyPath: what)
                    }
                }
                groups.append(group)
            }
        }
        let ungrouped = ProxyConfig.sortedIDs(models.keys.filter { memberOf[$0] == nil })
        if !ungrouped.isEmpty {
            groups.append(GroupConfig(id: GroupConfig.defaultGroupID, members: ungrouped))
        }
        return groups
    }
}
