import Foundation
import LocatedYAML

/// llama-swap's `-config-dir` (`internal/config/merge.go` at 32bc7813): the `-config` file (if any), then every
/// `*.yml` / `*.yaml` file directly in the directory, in sorted file-name order, merged into one document that loads
/// as one config. Each node keeps the file and place it was written at, so errors and warnings name the right file.
///
/// Merge rules:
/// - `models`, `groups`, `profiles`, `peers`, `matrix`, `routing.router.settings.groups` and
///   `routing.router.settings.matrix` hold named entities: a name defined in two files is an error;
/// - other mappings merge key by key; lists are concatenated; equal scalars agree; null gives way to a value;
///   different scalars, or a mapping against a list, are errors naming the place of the later file's value;
/// - empty files (or only comments) are skipped; a file whose top level is not a mapping is an error; the `-config`
///   file found again in the directory is an error.
public enum ConfigDirMerge {
    static let identityMaps: Set<String> = [
        "models", "groups", "profiles", "peers", "matrix", "routing.router.settings.groups",
        "routing.router.settings.matrix",
    ]

    /// The files to merge, in order: `configFile`, then the directory's YAML files sorted by name.
    public static func sources(configFile: String?, configDir: String?) throws(LocatedError) -> [String] {
        var paths: [String] = []
        if let configFile, !configFile.isEmpty { paths.append(configFile) }
        guard let configDir, !configDir.isEmpty else { return paths }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: configDir)
        } catch {
            throw LocatedError(
                "-config-dir \(configDir): \(error.localizedDescription)",
                at: SourceLocation(file: configDir, line: 1, column: 1), underlying: error)
        }
        let directory = URL(fileURLWithPath: configDir)
        var files: [String] = []
        for name in names where name.hasSuffix(".yml") || name.hasSuffix(".yaml") {
            let path = directory.appendingPathComponent(name).path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files.append(path)
            }
        }
        files.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        if let configFile, !configFile.isEmpty {
            let resolved = URL(fileURLWithPath: configFile).standardizedFileURL.resolvingSymlinksInPath().path
            for file in files where URL(fileURLWithPath: file).standardizedFileURL.resolvingSymlinksInPath().path == resolved {
                throw LocatedError(
                    "-config path \(configFile) is also present in -config-dir \(configDir); remove it from one",
                    at: SourceLocation(file: file, line: 1, column: 1))
            }
        }
        if files.isEmpty && paths.isEmpty {
            throw LocatedError(
                "-config-dir \(configDir) holds no .yaml or .yml file",
                at: SourceLocation(file: configDir, line: 1, column: 1))
        }
        return paths + files
    }

    /// The documents merged in order (`nil` when every one is empty).
    public static func merge(_ documents: [YAMLNode?]) throws(LocatedError) -> YAMLNode? {
        var merged: YAMLNode?
        for document in documents {
            guard let document, !document.isNull else { continue }
            guard document.mapping != nil else {
                throw LocatedError("the top level must be a mapping", at: document.location)
            }
            guard let current = merged else {
                merged = document
                continue
            }
            merged = try mergeMapping(current, document, path: "")
        }
        return merged
    }

    private static func mergeMapping(_ into: YAMLNode, _ from: YAMLNode, path: String) throws(LocatedError) -> YAMLNode {
        var entries = into.mapping ?? []
        for entry in from.mapping ?? [] {
            let key = entry.key.scalar?.text ?? ""
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            guard let index = entries.firstIndex(where: { $0.key.scalar?.text == key }) else {
                entries.append(entry)
                continue
            }
            if identityMaps.contains(childPath) {
                entries[index].value = try mergeIdentity(entries[index].value, entry.value, path: childPath, name: key)
            } else {
                entries[index].value = try mergeValue(entries[index].value, entry.value, path: childPath)
            }
        }
        var result = into
        result.content = .mapping(entries)
        return result
    }

    private static func mergeIdentity(_ into: YAMLNode, _ from: YAMLNode, path: String, name: String)
        throws(LocatedError) -> YAMLNode
    {
        if from.isNull { return into }
        if into.isNull { return from }
        guard var entries = into.mapping, let more = from.mapping else {
            throw LocatedError("conflict at \(path): expected a mapping in every file", at: from.location)
        }
        for entry in more {
            if let first = entries.first(where: { $0.key.scalar?.text == entry.key.scalar?.text }) {
                throw LocatedError(
                    "duplicate \(name) '\(entry.key.scalar?.text ?? "")': already defined at \(first.key.location)",
                    at: entry.key.location)
            }
            entries.append(entry)
        }
        var result = into
        result.content = .mapping(entries)
        return result
    }

    private static func mergeValue(_ into: YAMLNode, _ from: YAMLNode, path: String) throws(LocatedError) -> YAMLNode {
        if from.isNull { return into }
        if into.isNull { return from }
        switch (into.content, from.content) {
        case (.mapping, .mapping):
            return try mergeMapping(into, from, path: path)
        case (.sequence(let a), .sequence(let b)):
            var result = into
            result.content = .sequence(a + b)
            return result
        case (.scalar(let a), .scalar(let b)):
            if a.text == b.text && a.isPlain == b.isPlain { return into }
            throw LocatedError(
                "conflict at \(path): a different value than the one at \(into.location)", at: from.location)
        default:
            throw LocatedError(
                "conflict at \(path): a different kind of value than the one at \(into.location)", at: from.location)
        }
    }
}

extension ConfigLoader {
    /// llama-swap's `-config` and `-config-dir` together (either may be `nil`): the merged document
    /// (``ConfigDirMerge``) loaded as one config. With a file alone this is ``load(contentsOf:environment:)``.
    public static func load(
        configFile: String?, configDir: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(LocatedError) -> (ProxyConfig, [ConfigWarning]) {
        guard let configDir, !configDir.isEmpty else {
            return try load(contentsOf: configFile ?? "", environment: environment)
        }
        var documents: [YAMLNode?] = []
        let sources = try ConfigDirMerge.sources(configFile: configFile, configDir: configDir)
        for path in sources {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw LocatedError(
                    "cannot read the config file: \(error.localizedDescription)",
                    at: SourceLocation(file: path, line: 1, column: 1), underlying: error)
            }
            documents.append(try YAMLNode.compose(yaml: text, file: path))
        }
        var loader = ConfigLoading(file: sources.first ?? configDir, environment: environment)
        let config = try loader.load(root: try ConfigDirMerge.merge(documents))
        return (config, loader.warnings)
    }
}
