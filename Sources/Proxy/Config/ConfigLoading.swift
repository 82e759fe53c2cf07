import DurationMath
import Foundation
import LocatedYAML
import Logging

/// The state of one load: the reader, the warnings and the global settings read so far.
struct ConfigLoading {
    var reader: YAMLReader
    var warnings: [ConfigWarning] = []
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
    var logToStdout = LogToStdout.proxy
    var captureBufferMiB: Int? = nil
    var metricsMaxInMemory: Int? = nil

    /// A loader reading `file` as llama-swap does: YAML 1.1 booleans, quoted numbers, `${env.NAME}` in every value.
    init(file: String, environment: [String: String]) {
        var rules = ScalarRules.yaml11
        rules.substitute = { text, node, key throws(LocatedError) in
            try ConfigLoading.expandEnvironment(text, environment: environment, at: node.location, what: key)
        }
        reader = YAMLReader(file: file, rules: rules)
    }

    mutating func load(_ text: String) throws(LocatedError) -> ProxyConfig {
        try load(root: try YAMLNode.compose(yaml: text, file: file))
    }

    /// Loads a composed document (one file's, or `-config-dir`'s merged files, each node with its own file).
    mutating func load(root: YAMLNode?) throws(LocatedError) -> ProxyConfig {
        guard let root, !root.isNull else {
            throw LocatedError(
                "the config is empty: expected a mapping with at least a models section",
                at: SourceLocation(file: file, line: 1, column: 1))
        }
        let top = try knownFields(
            root, at: nil, allowed: ConfigLoader.topLevelKeys, place: "the top level",
            llamaSwapKeys: ConfigLoading.llamaSwapTopLevelKeys)
        var modelsNode: YAMLNode? = nil
        var groupsNode: YAMLNode? = nil
        var routing = RawRouting()
        var legacyMatrix: MatrixSettings? = nil
        var later: [String: YAMLReader.Fields.Entry] = [:]  // sections read once the models are known
        var unloadTimeout: Duration? = nil
        var includeAliasesInList = false

        for entry in top.entries {
            let key = entry.key, value = entry.value
            if ["profiles", "selectors", "peers", "hooks", "upstream"].contains(key) {
                if !value.isNull { later[key] = entry }
                continue
            }
            if key == "models" {
                modelsNode = value
                continue
            }
            // An empty value means "not set", as in llama-swap.
            if value.isNull { continue }
            switch key {
            case "healthCheckTimeout":
                let timeout = try reader.duration(value, "healthCheckTimeout")
                if timeout < ProxyConfig.minimumHealthCheckTimeout {
                    warn(
                        "healthCheckTimeout \(format(timeout)) is below the minimum of 15 s; using 15 s, as llama-swap does",
                        at: value, keyPath: key)
                    healthCheckTimeout = ProxyConfig.minimumHealthCheckTimeout
                } else {
                    healthCheckTimeout = timeout
                }
            case "logLevel":
                let level = try reader.string(value, "logLevel")
                guard let parsed = ConfigLoading.logLevels[level.lowercased()] else {
                    throw reader.mismatch("logLevel", expected: "one of debug, info, warn, error", got: value)
                }
                logLevel = parsed
            case "startPort":
                startPort = try reader.integer(value, "startPort", in: 1...65535)
            case "logToStdout":
                let text = try reader.string(value, key)
                guard let mode = LogToStdout(rawValue: text) else {
                    throw reader.mismatch(key, expected: "one of proxy, upstream, both, none", got: value)
                }
                logToStdout = mode
            case "captureBuffer":
                captureBufferMiB = try reader.integer(value, key, in: 0...(1 << 20))
            case "metricsMaxInMemory":
                // llama-swap keeps 1000 for zero or less.
                let count = try reader.integer(value, key, in: Int.min...Int.max, expected: "a whole number")
                metricsMaxInMemory = count > 0 ? count : 1000
            case "sendLoadingState":
                sendLoadingState = try reader.bool(value, "sendLoadingState")
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
            case "groups":
                groupsNode = value
            case "routing":
                try readRouting(value, into: &routing)
            case "matrix":
                legacyMatrix = try readMatrix(value, path: "matrix")
            case "unloadTimeout":
                unloadTimeout = try self.unloadTimeout(value, key)
            case "includeAliasesInList":
                includeAliasesInList = try reader.bool(value, key)
            case "heartbeatInterval":
                heartbeat.interval = try heartbeatInterval(value, keyPath: key)
            case "heartbeatComment":
                heartbeat.comment = try heartbeatComment(value, keyPath: key)
            case "responseHeaderTimeout":
                responseHeaderTimeout = try upstreamTimeout(value, keyPath: key)
            case "streamIdleTimeout":
                streamIdleTimeout = try upstreamTimeout(value, keyPath: key)
            case "maxRequestBodySize":
                clientLimits.maxRequestBodySize = try reader.byteSize(value, key)
            case "maxHeaderCount":
                clientLimits.maxHeaderCount = try reader.integer(value, key, in: 1...65534)
            case "maxHeaderBytes":
                clientLimits.maxHeaderBytes = try reader.byteSize(value, key)
            case "maxHeaderLineBytes":
                clientLimits.maxHeaderLineBytes = try reader.byteSize(value, key)
            case "clientIdleTimeout":
                clientLimits.idleTimeout = try upstreamTimeout(value, keyPath: key)
            case "clientHeaderTimeout":
                clientLimits.headerTimeout = try upstreamTimeout(value, keyPath: key)
            case "clientBodyTimeout":
                clientLimits.bodyTimeout = try upstreamTimeout(value, keyPath: key)
            default:
                break  // the allowed keys are ConfigLoader.topLevelKeys; unknown ones were warned about above
            }
        }

        try MacroExpander(globalMacros).checkCycles()

        guard let modelsNode else {
            throw LocatedError(
                "the config has no models section: add models with at least one model",
                at: root.location)
        }
        let rawModels = try readModels(modelsNode)
        var models: [String: ModelConfig] = [:]
        var aliases: [String: (model: String, location: SourceLocation)] = [:]
        var nextPort = startPort
        for id in ProxyConfig.sortedIDs(rawModels.keys) {
            guard let model = try resolve(rawModels[id]!, nextPort: &nextPort) else { continue }
            for alias in model.aliases {
                let written = rawModels[id]!.aliases.first { $0.value.id == alias.id }?.location ?? model.location!
                if let other = aliases[alias.id] {
                    throw LocatedError(
                        "alias '\(alias.id)' is already used by model '\(other.model)' (\(other.location)); aliases must be unique",
                        at: written)
                }
                if rawModels[alias.id] != nil {
                    warnings.append(
                        ConfigWarning(
                            "alias '\(alias.id)' of model '\(id)' is also a model id; requests for it go to that model",
                            at: written, keyPath: "models.\(id).aliases"))
                }
                aliases[alias.id] = (id, written)
            }
            models[id] = model
        }

        let aliasMap = aliases.mapValues(\.model)

        // Routing: top-level groups / matrix (llama-swap's legacy keys) or routing.router, never both (as llama-swap).
        let legacyGroups = groupsNode.map { !$0.isNull && $0.mapping?.isEmpty != true } ?? false
        if (legacyGroups || legacyMatrix != nil) && routing.routerUsed {
            throw LocatedError(
                "the config uses both the top-level '\(legacyMatrix != nil ? "matrix" : "groups")' key and routing.router; move it into routing.router.settings",
                at: (legacyMatrix?.location ?? groupsNode?.location) ?? root.location)
        }
        if legacyGroups, let legacyMatrix {
            throw LocatedError("the config cannot use both 'groups' and 'matrix'", at: legacyMatrix.location)
        }
        var settings = RoutingSettings()
        var activeGroupsNode = groupsNode
        var groupsPath = "groups"
        var matrixPath: String? = nil
        if let legacyMatrix {
            settings.engine = .matrix
            settings.matrix = legacyMatrix
            matrixPath = "matrix"
        } else if routing.routerUsed {
            settings.engine = routing.engine
            switch routing.engine {
            case .group:
                activeGroupsNode = routing.groupsNode
                groupsPath = routing.groupsPath
            case .matrix:
                guard let matrix = routing.matrix else {
                    throw LocatedError(
                        "routing.router.use is 'matrix' but routing.router.settings.matrix is not set",
                        at: routing.engineNode?.location ?? root.location)
                }
                settings.matrix = matrix
                activeGroupsNode = nil
                matrixPath = routing.matrixPath
            }
        }
        if let matrix = settings.matrix, let path = matrixPath {
            // Checked here so that errors point at the file; the supervisor's SwapEngine compiles it again to decide.
            try compileMatrix(matrix, path: path, models: Set(models.keys), aliases: aliasMap)
        }
        if let priority = routing.priorityNode, let key = routing.priorityKey {
            settings.priority = try readPriority(priority, key: key, models: models, aliases: aliasMap)
        }
        let groups = try readGroups(activeGroupsNode, path: groupsPath, models: models, aliases: aliasMap)

        var config = ProxyConfig(
            healthCheckTimeout: healthCheckTimeout, logLevel: logLevel, startPort: startPort, globalTTL: globalTTL,
            apiKeys: apiKeys, sendLoadingState: sendLoadingState, heartbeat: heartbeat,
            responseHeaderTimeout: responseHeaderTimeout, streamIdleTimeout: streamIdleTimeout,
            clientLimits: clientLimits, models: models,
            groups: groups, aliases: aliasMap)
        config.routing = settings
        config.unloadTimeout = unloadTimeout
        config.includeAliasesInList = includeAliasesInList
        config.logToStdout = logToStdout
        config.captureBufferMiB = captureBufferMiB
        config.metricsMaxInMemory = metricsMaxInMemory

        if let entry = later["peers"] {
            config.peers = try readPeers(entry.value, key: entry.keyNode.location, modelIDs: models, aliases: aliasMap)
        }
        let peers = config.peers
        let selectorIDs = Set(later["selectors"]?.value.mapping?.compactMap { $0.key.scalar?.text } ?? [])
        if let entry = later["profiles"] {
            config.profiles = try readProfiles(entry.value, key: entry.keyNode.location) { target in
                selectorIDs.contains(target)
                    || ConfigLoading.isKnownTarget(target, models: models, aliases: aliasMap, peers: peers)
            }
        }
        if let entry = later["selectors"] {
            config.selectors = try readSelectors(
                entry.value, key: entry.keyNode.location, models: models, aliases: aliasMap, peers: peers)
        }
        if let entry = later["hooks"] {
            var hooks: (preload: [String], profile: String?) = ([], nil)
            try readHooks(entry.value, models: models, aliases: aliasMap, profiles: config.profiles, into: &hooks)
            config.preload = hooks.preload
            config.startupProfile = hooks.profile
        }
        if let entry = later["upstream"] { config.upstreamIgnorePaths = try readUpstream(entry.value) }
        return config
    }

    // MARK: - Values shared by the top level and models
    // The loops over mappings skip null values ("not set") before calling these.

    /// A TTL: a duration, `0` for never; models also accept llama-swap's `-1` ("use globalTTL", returned as nil).
    /// The outer optional is "not set / inherit"; the inner is "never unload".
    func ttl(_ node: YAMLNode, _ what: String, allowInherit: Bool) throws(LocatedError) -> Duration?? {
        if allowInherit, try reader.string(node, what).trimmingCharacters(in: .whitespaces) == "-1" { return .none }
        let duration = try reader.duration(node, what)
        return .some(duration == .zero ? nil : duration)
    }

    /// A heartbeat interval; `0` turns heartbeats off (nil).
    mutating func heartbeatInterval(_ node: YAMLNode, keyPath: String) throws(LocatedError) -> Duration? {
        let interval = try reader.duration(node, keyPath)
        if interval == .zero { return nil }
        if interval < HeartbeatSettings.warningThreshold {
            warn(
                "heartbeatInterval \(format(interval)) is under 1 s: fine for tests, very chatty for real clients",
                at: node, keyPath: keyPath)
        }
        return interval
    }

    /// `responseHeaderTimeout`, `streamIdleTimeout`, the per-model `timeouts` values and the `client…Timeout`
    /// keys: a duration (seconds, as llama-swap writes them, or `2m`-style); `0` turns the bound off.
    func upstreamTimeout(_ node: YAMLNode, keyPath: String) throws(LocatedError) -> Duration? {
        let timeout = try reader.duration(node, keyPath)
        return timeout == .zero ? nil : timeout
    }

    func heartbeatComment(_ node: YAMLNode, keyPath: String) throws(LocatedError) -> String {
        let comment = try reader.string(node, keyPath)
        if comment.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            throw reader.mismatch(keyPath, expected: "one line of text without CR or LF", got: node)
        }
        return comment
    }

    /// A `macros` mapping, in written order.
    func macros(_ node: YAMLNode, keyPath: String) throws(LocatedError) -> [MacroExpander.Definition] {
        var result: [MacroExpander.Definition] = []
        for entry in try reader.entries(node, keyPath) {
            let name = entry.key
            guard MacroExpander.isValidName(name) else {
                throw reader.mismatch(
                    keyPath, expected: "a macro name of letters, digits, _ or - (under 64 characters)",
                    got: entry.keyNode)
            }
            if MacroExpander.reservedNames.contains(name) {
                throw LocatedError(
                    "\(keyPath): '\(name)' is reserved and filled in by the proxy; choose another name",
                    at: entry.keyNode.location)
            }
            let value = entry.value
            guard value.scalar != nil, !value.isNull else {
                throw reader.mismatch("\(keyPath).\(name)", expected: "a text, number or boolean value", got: value)
            }
            let text = try reader.string(value, "\(keyPath).\(name)")
            result.append(MacroExpander.Definition(name: name, value: text, location: value.location))
        }
        return result
    }

    // MARK: - Warnings

    mutating func warn(_ message: String, at node: YAMLNode, keyPath: String) {
        warnings.append(ConfigWarning(message, at: node.location, keyPath: keyPath))
    }

    /// The entries of the mapping at key path `path` (`models.a`; `nil` for the top level) with the keys in
    /// `allowed`; every other key is a warning, never an error (a llama-swap config must load): llama-swap features
    /// are named as such, so a user migrating knows it is not a typo; anything else is a likely typo, with the known
    /// key it most likely meant.
    /// - Parameters:
    ///   - place: the mapping as warnings name it (`model 'a'`).
    ///   - expecting: what to say was expected when the node is not a mapping.
    mutating func knownFields(
        _ node: YAMLNode, at path: String?, allowed: [String], expecting: String = "a mapping", place: String,
        llamaSwapKeys: Set<String> = []
    ) throws(LocatedError) -> YAMLReader.Fields {
        var unknown: [UnknownKey] = []
        let fields = try reader.fields(
            node, path ?? "the config", allowed: allowed, expecting: expecting, unknownKeys: &unknown)
        for key in unknown {
            let message =
                llamaSwapKeys.contains(key.key)
                ? "'\(key.key)' in \(place) is a llama-swap setting this proxy does not support yet; ignored"
                : "unknown key '\(key.key)' in \(place) is ignored\(key.suggestion == nil ? " (a typo?)" : key.didYouMean)"
            let keyPath = path.map { "\($0).\(key.key)" } ?? key.key
            warnings.append(ConfigWarning(message, at: key.location, keyPath: keyPath))
        }
        return fields
    }

    /// Replaces `${env.NAME}` with the variable's value; an unset variable is an error, as in llama-swap.
    static func expandEnvironment(
        _ text: String, environment: [String: String], at location: SourceLocation, what: String
    ) throws(LocatedError) -> String {
        guard text.contains("${env.") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${env.") {
            result += rest[..<start.lowerBound]
            let afterPrefix = rest[start.upperBound...]
            guard let close = afterPrefix.firstIndex(of: "}") else {
                result += rest[start.lowerBound...]
                rest = rest[rest.endIndex...]
                break
            }
            let name = String(afterPrefix[..<close])
            guard let value = environment[name] else {
                throw LocatedError(
                    "\(what): environment variable '\(name)' (used as ${env.\(name)}) is not set", at: location)
            }
            result += value
            rest = afterPrefix[afterPrefix.index(after: close)...]
        }
        return result + rest
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

    /// llama-swap settings this proxy knows of but does not implement (see docs/config-compat.md).
    static let llamaSwapTopLevelKeys: Set<String> = [
        "logRequests", "logTimeFormat", "store", "ui", "performance", "tailcat",
    ]
    static let llamaSwapModelKeys: Set<String> = ["compat"]
}
