import Foundation
import Logging
import Wire
import Yams

/// The state of one load: the reader (with its warnings) and the global settings read so far.
struct ConfigLoading {
    var reader: YAMLReader
    var file: String { reader.file }

    var healthCheckTimeout = ProxyConfig.defaultHealthCheckTimeout
    var logLevel: Logger.Level = .info
    var startPort = ProxyConfig.defaultStartPort
    var globalTTL: Duration? = nil
    var apiKeys: [String] = []
    var sendLoadingState = false
    var heartbeat = HeartbeatSettings()
    var responseHeaderTimeout = ProxyConfig.defaultUpstreamTimeout
    var streamIdleTimeout = ProxyConfig.defaultUpstreamTimeout
    var globalMacros: [MacroExpander.Definition] = []
    var clientLimits = ClientLimits()

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
                    guard let parsed = ConfigLoading.logLevels[level.value.lowercased()] else {
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
                        throw LocatedError(
                            "apiKeys: expected a non-empty key, got an empty string", at: apiKey.location)
                    }
                    if apiKey.value.contains(where: \.isWhitespace) {
                        throw LocatedError(
                            "apiKeys: a key cannot contain spaces (the key is not shown, it is a secret)",
                            at: apiKey.location)
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
            case "responseHeaderTimeout":
                responseHeaderTimeout = try upstreamTimeout(value, keyPath: key) ?? responseHeaderTimeout
            case "streamIdleTimeout":
                streamIdleTimeout = try upstreamTimeout(value, keyPath: key) ?? streamIdleTimeout
            case "maxRequestBodySize":
                clientLimits.maxRequestBodySize = try reader.byteSize(value, key) ?? clientLimits.maxRequestBodySize
            case "maxHeaderCount":
                clientLimits.maxHeaderCount =
                    try reader.integer(value, key, in: 1...65534) ?? clientLimits.maxHeaderCount
            case "maxHeaderBytes":
                clientLimits.maxHeaderBytes = try reader.byteSize(value, key) ?? clientLimits.maxHeaderBytes
            case "maxHeaderLineBytes":
                clientLimits.maxHeaderLineBytes = try reader.byteSize(value, key) ?? clientLimits.maxHeaderLineBytes
            case "clientIdleTimeout":
                clientLimits.idleTimeout = try upstreamTimeout(value, keyPath: key) ?? clientLimits.idleTimeout
            case "clientHeaderTimeout":
                clientLimits.headerTimeout = try upstreamTimeout(value, keyPath: key) ?? clientLimits.headerTimeout
            case "clientBodyTimeout":
                clientLimits.bodyTimeout = try upstreamTimeout(value, keyPath: key) ?? clientLimits.bodyTimeout
            default:
                reader.warn(
                    ConfigLoading.unknownKeyMessage(
                        key, in: "the top level", llamaSwapKeys: ConfigLoading.llamaSwapTopLevelKeys),
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
                    reader.warnings.append(
                        ConfigWarning(
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
            apiKeys: apiKeys, sendLoadingState: sendLoadingState, heartbeat: heartbeat,
            responseHeaderTimeout: responseHeaderTimeout, streamIdleTimeout: streamIdleTimeout,
            clientLimits: clientLimits, models: models,
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

    /// `responseHeaderTimeout`, `streamIdleTimeout`, the per-model `timeouts` values and the `client…Timeout`
    /// keys: a duration (seconds, as
    /// llama-swap writes them, or `2m`-style); `0` turns the bound off. The outer optional is "not set".
    func upstreamTimeout(_ node: Node, keyPath: String) throws(LocatedError) -> Duration?? {
        guard let timeout = try reader.duration(node, keyPath) else { return .none }
        return .some(timeout == .zero ? nil : timeout)
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
                throw reader.fail(
                    keyNode,
                    expected: "\(keyPath): expected a macro name of letters, digits, _ or - (under 64 characters)")
            }
            if MacroExpander.reservedNames.contains(name) {
                throw LocatedError(
                    "\(keyPath): '\(name)' is reserved and filled in by the proxy; choose another name",
                    at: reader.location(of: keyNode))
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
    static let llamaSwapModelKeys: Set<String> = ["filters", "metadata", "unloadTimeout", "compat"]
    /// llama-swap's `timeouts` keys for its HTTP transport that this proxy does not have (`responseHeader` it has).
    static let llamaSwapTimeoutKeys: Set<String> = ["connect", "keepalive", "tlsHandshake", "idleConn"]
}
