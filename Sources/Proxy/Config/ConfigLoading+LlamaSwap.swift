import Foundation
import LocatedYAML

// Reading the llama-swap settings whose behaviour is not built yet: each is read and checked (wrong types are
// located errors), kept in the config, and warned about once as "not supported yet".

extension ConfigLoading {
    /// The warning for a llama-swap key that loads but is not acted on yet.
    mutating func notSupportedYet(
        _ key: String, in place: String, at location: SourceLocation, keyPath: String, detail: String? = nil
    ) {
        let suffix = detail.map { " (\($0))" } ?? ""
        warnings.append(
            ConfigWarning(
                "'\(key)' in \(place) is a llama-swap setting this proxy does not support yet; ignored\(suffix)",
                at: location, keyPath: keyPath))
    }

    /// A YAML value as data. Strings go through `expand` (macros); a string that is exactly one `${name}` and a
    /// plain scalar are typed after expansion (llama-swap keeps a macro's number a number).
    func configValue(
        _ node: YAMLNode, _ what: String, expand: (String, SourceLocation) throws(LocatedError) -> String
    ) throws(LocatedError) -> ConfigValue {
        switch node.content {
        case .scalar(let scalar):
            if node.isNull { return .null }
            let text = try expand(try reader.string(node, what), node.location)
            let wholeMacro =
                scalar.text.hasPrefix("${") && scalar.text.hasSuffix("}")
                && scalar.text.dropFirst(2).dropLast().allSatisfy { $0 != "}" && $0 != "$" }
            if scalar.isPlain || wholeMacro { return ConfigValue.plain(text, booleans: reader.rules.booleans) }
            return .string(text)
        case .sequence(let items):
            var values: [ConfigValue] = []
            for item in items { values.append(try configValue(item, what, expand: expand)) }
            return .list(values)
        case .mapping:
            var entries: [(key: String, value: ConfigValue)] = []
            for entry in try reader.entries(node, what) {
                entries.append((entry.key, try configValue(entry.value, "\(what).\(entry.key)", expand: expand)))
            }
            return .mapping(entries)
        case .alias:
            throw reader.mismatch(what, expected: "a value", got: node)
        }
    }

    /// `filters` of a model or peer: `stripParams`, `setParams`, `setParamsByID` (the last only for models).
    /// `expand` expands macros in keys and values. Both a model's and a peer's filters are applied to request bodies
    /// (``RequestBodyEdits``).
    mutating func filters(
        _ node: YAMLNode, path: String, place: String, allowByID: Bool,
        expand: (String, SourceLocation) throws(LocatedError) -> String
    ) throws(LocatedError) -> FilterSettings {
        var result = FilterSettings()
        let allowed = allowByID ? ["stripParams", "setParams", "setParamsByID"] : ["stripParams", "setParams"]
        let fields = try knownFields(
            node, at: path, allowed: allowed, place: "the filters of \(place)",
            llamaSwapKeys: ["strip_params", "setParamsByMatch"])
        for field in fields.entries where !field.value.isNull {
            let what = "\(path).\(field.key)"
            switch field.key {
            case "stripParams":
                let text = try expand(try reader.string(field.value, what), field.value.location)
                for part in text.split(separator: ",") {
                    let name = part.trimmingCharacters(in: .whitespaces)
                    if name.isEmpty || FilterSettings.protectedParams.contains(name)
                        || result.stripParams.contains(name)
                    {
                        continue
                    }
                    result.stripParams.append(name)
                }
            case "setParams":
                result.setParams = try params(field.value, what, expand: expand)
            case "setParamsByID":
                for entry in try reader.entries(field.value, what) {
                    let id = try expand(entry.key, entry.keyNode.location)
                    if id.isEmpty { throw reader.mismatch(what, expected: "a model id", got: entry.keyNode) }
                    result.setParamsByID.append((id, try params(entry.value, "\(what).\(id)", expand: expand)))
                }
            default: break
            }
            var names = result.stripParams
            if field.key == "setParams" { names = result.setParams.map(\.key) }
            if field.key == "setParamsByID" { names = result.setParamsByID.flatMap { $0.params.map(\.key) } }
            for name in Set(names).sorted() where name.contains(where: { Self.pathSyntax.contains($0) }) {
                warnings.append(
                    ConfigWarning(
                        "'\(name)' in \(field.key) of the filters of \(place) is taken as one top-level key of the "
                            + "request body, as written; llama-swap reads it as a path "
                            + "('.' reaches into nested objects)",
                        at: field.value.location, keyPath: what))
            }
        }
        return result
    }

    /// Characters that are syntax in the gjson paths llama-swap reads filter keys as. Here a key is one top-level
    /// member name as written (``RequestBodyEdits``), so a key with one of them gets a warning saying so.
    static let pathSyntax: Set<Character> = [".", "*", "?", "|", "#", "@", "\\"]

    private func params(
        _ node: YAMLNode, _ what: String, expand: (String, SourceLocation) throws(LocatedError) -> String
    ) throws(LocatedError) -> [(key: String, value: ConfigValue)] {
        guard case .mapping(let entries) = try configValue(node, what, expand: expand) else {
            throw reader.mismatch(what, expected: "a mapping of parameter names to values", got: node)
        }
        return entries.filter { !FilterSettings.protectedParams.contains($0.key) }
    }

    /// `capabilities` of a model.
    mutating func capabilities(_ node: YAMLNode, path: String, modelID: String) throws(LocatedError)
        -> ModelCapabilities
    {
        var result = ModelCapabilities()
        let fields = try knownFields(
            node, at: path, allowed: ["in", "out", "tools", "reranker", "context"],
            place: "the capabilities of model '\(modelID)'")
        for field in fields.entries where !field.value.isNull {
            let what = "\(path).\(field.key)"
            switch field.key {
            case "in", "out":
                var modalities: [String] = []
                for item in try reader.strings(field.value, what) {
                    guard ModelCapabilities.modalities.contains(item.value) else {
                        throw LocatedError(
                            "\(what): expected one of \(ModelCapabilities.modalities.joined(separator: ", ")), got '\(item.value)'",
                            at: item.location)
                    }
                    modalities.append(item.value)
                }
                if field.key == "in" { result.input = modalities } else { result.output = modalities }
            case "tools": result.tools = try reader.bool(field.value, what)
            case "reranker": result.reranker = try reader.bool(field.value, what)
            case "context": result.context = try reader.integer(field.value, what, in: 0...Int.max)
            default: break
            }
        }
        return result
    }

    /// A duration in seconds as llama-swap writes `unloadTimeout` (`0`: the default).
    func unloadTimeout(_ node: YAMLNode, _ what: String) throws(LocatedError) -> Duration? {
        let value = try reader.duration(node, what)
        return value == .zero ? nil : value
    }

    /// Whether `name` is something a request may name: a model id, an alias or a peer model (`peer/model`, or
    /// unqualified when one peer serves it).
    static func isKnownTarget(
        _ name: String, models: [String: ModelConfig], aliases: [String: String], peers: [PeerSettings]
    )
        -> Bool
    {
        if models[name] != nil || aliases[name] != nil { return true }
        if peers.contains(where: { peer in peer.models.contains { "\(peer.id)/\($0)" == name } }) { return true }
        return peers.filter { $0.models.contains(name) }.count == 1
    }

    // MARK: - Sections read after the models (peers: ConfigLoading+Peers.swift)

    mutating func readProfiles(
        _ node: YAMLNode, key: SourceLocation, isKnown: (String) -> Bool
    ) throws(LocatedError) -> [ProfileSettings] {
        var profiles: [ProfileSettings] = []
        for entry in try reader.entries(node, "profiles") {
            let name = entry.key
            let path = "profiles.\(name)"
            if name.trimmingCharacters(in: .whitespaces).isEmpty {
                throw reader.mismatch("profiles", expected: "a profile name", got: entry.keyNode)
            }
            let fields = try knownFields(
                entry.value, at: path, allowed: ["description", "pins"],
                expecting: "the profile's settings (a mapping with description and pins)", place: "profile '\(name)'")
            var profile = ProfileSettings(name: name, description: nil, pins: [], location: entry.keyNode.location)
            if let description = fields["description"], !description.isNull {
                profile.description = try reader.string(description, "\(path).description")
            }
            if let pins = fields["pins"], !pins.isNull {
                for pin in try reader.entries(pins, "\(path).pins") {
                    let target =
                        pin.value.isNull
                        ? "" : try reader.oneLine(pin.value, "\(path).pins.\(pin.key)", allowEmpty: true)
                    if !target.isEmpty, !isKnown(target) {
                        warnings.append(
                            ConfigWarning(
                                "profile '\(name)' pins '\(pin.key)' to '\(target)', which is not a model, alias, peer model or selector; ignored",
                                at: pin.value.location, keyPath: "\(path).pins.\(pin.key)"))
                        continue
                    }
                    profile.pins.append(.init(id: pin.key, target: target.isEmpty ? nil : target))
                }
            }
            if fields["pins"]?.mapping?.isEmpty ?? true {
                throw LocatedError("\(path).pins: expected at least one pin (id: target)", at: entry.keyNode.location)
            }
            profiles.append(profile)
        }
        return profiles
    }

    mutating func readSelectors(
        _ node: YAMLNode, key: SourceLocation, models: [String: ModelConfig], aliases: [String: String],
        peers: [PeerSettings]
    ) throws(LocatedError) -> [SelectorSettings] {
        var selectors: [SelectorSettings] = []
        let entries = try reader.entries(node, "selectors")
        let selectorIDs = Set(entries.map(\.key))
        for entry in entries {
            let id = entry.key
            let path = "selectors.\(id)"
            if models[id] != nil || aliases[id] != nil {
                throw LocatedError(
                    "\(path): the name is already a model \(models[id] != nil ? "id" : "alias"); choose another",
                    at: entry.keyNode.location)
            }
            let fields = try knownFields(
                entry.value, at: path,
                allowed: ["strategy", "targets", "settings", "name", "description", "unlisted", "metadata"],
                expecting: "the selector's settings (a mapping with strategy and targets)", place: "selector '\(id)'")
            guard let strategyNode = fields["strategy"], !strategyNode.isNull else {
                throw LocatedError("\(path): strategy is required (warm, pin or spillover)", at: entry.keyNode.location)
            }
            let strategy = try reader.choice(
                strategyNode, "\(path).strategy",
                ["warm": SelectorSettings.Strategy.warm, "pin": .pin, "spillover": .spillover])
            var selector = SelectorSettings(
                id: id, strategy: strategy, targets: [], spillover: 1, name: nil, description: nil, unlisted: false,
                metadata: nil, location: entry.keyNode.location)
            let targets =
                try fields["targets"].map { node throws(LocatedError) in try reader.strings(node, "\(path).targets") }
                ?? []
            if targets.isEmpty {
                throw LocatedError("\(path).targets: expected at least one target", at: entry.keyNode.location)
            }
            for target in targets {
                if selectorIDs.contains(target.value) {
                    throw LocatedError(
                        "\(path).targets: '\(target.value)' is a selector; a selector cannot target another",
                        at: target.location)
                }
                if !ConfigLoading.isKnownTarget(target.value, models: models, aliases: aliases, peers: peers) {
                    warnings.append(
                        ConfigWarning(
                            "selector '\(id)' targets '\(target.value)', which is not a model, alias or peer model; ignored",
                            at: target.location, keyPath: "\(path).targets"))
                    continue
                }
                selector.targets.append(target.value)
            }
            if let settings = fields["settings"], !settings.isNull {
                let settingsFields = try knownFields(
                    settings, at: "\(path).settings", allowed: ["spillover"], place: "the settings of selector '\(id)'")
                if let spillover = settingsFields["spillover"], !spillover.isNull {
                    selector.spillover = try reader.integer(spillover, "\(path).settings.spillover", in: 1...Int.max)
                }
            }
            if let name = fields["name"], !name.isNull { selector.name = try reader.string(name, "\(path).name") }
            if let text = fields["description"], !text.isNull {
                selector.description = try reader.string(text, "\(path).description")
            }
            if let unlisted = fields["unlisted"], !unlisted.isNull {
                selector.unlisted = try reader.bool(unlisted, "\(path).unlisted")
            }
            if let metadata = fields["metadata"], !metadata.isNull {
                let expander = MacroExpander(globalMacros)
                selector.metadata = try configValue(metadata, "\(path).metadata") {
                    text, location throws(LocatedError) in
                    try expander.expand(text, keeping: [], at: location, field: "\(path).metadata")
                }
            }
            selectors.append(selector)
        }
        return selectors
    }

    /// `hooks.on_startup`: `preload` (model ids) and `profile`.
    mutating func readHooks(
        _ node: YAMLNode, models: [String: ModelConfig], aliases: [String: String], profiles: [ProfileSettings],
        into config: inout (preload: [String], profile: String?)
    ) throws(LocatedError) {
        let fields = try knownFields(node, at: "hooks", allowed: ["on_startup"], place: "hooks")
        guard let startup = fields["on_startup"], !startup.isNull else { return }
        let startupFields = try knownFields(
            startup, at: "hooks.on_startup", allowed: ["preload", "profile"], place: "hooks.on_startup")
        if let preload = startupFields.entry("preload"), !preload.value.isNull {
            for item in try reader.strings(preload.value, "hooks.on_startup.preload") {
                let id = item.value.trimmingCharacters(in: .whitespaces)
                if id.isEmpty { continue }
                guard let model = models[id]?.id ?? aliases[id] else {
                    warnings.append(
                        ConfigWarning(
                            "hooks.on_startup.preload names '\(id)', which is not a model or alias defined under models; ignored",
                            at: item.location, keyPath: "hooks.on_startup.preload"))
                    continue
                }
                config.preload.append(model)
            }
        }
        if let profile = startupFields.entry("profile"), !profile.value.isNull {
            let name = try reader.string(profile.value, "hooks.on_startup.profile")
            if !name.isEmpty {
                guard profiles.contains(where: { $0.name == name }) else {
                    throw LocatedError(
                        "hooks.on_startup.profile: '\(name)' is not a profile defined under profiles",
                        at: profile.value.location)
                }
                config.profile = name
            }
        }
    }

    /// `upstream.ignorePaths`: regular expressions, each checked.
    mutating func readUpstream(_ node: YAMLNode) throws(LocatedError) -> [String] {
        let fields = try knownFields(node, at: "upstream", allowed: ["ignorePaths"], place: "upstream")
        guard let entry = fields.entry("ignorePaths"), !entry.value.isNull else { return [] }
        var patterns: [String] = []
        for item in try reader.strings(entry.value, "upstream.ignorePaths") {
            do {
                _ = try NSRegularExpression(pattern: item.value)
            } catch {
                throw LocatedError(
                    "upstream.ignorePaths: '\(item.value)' is not a valid regular expression", at: item.location,
                    underlying: error)
            }
            patterns.append(item.value)
        }
        return patterns
    }
}
