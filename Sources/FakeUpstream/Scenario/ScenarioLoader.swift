import Foundation

/// Reads scenario files from disk: one file, or every `*.yaml`/`*.yml` below a directory.
public enum ScenarioLoader {
    /// A file or directory that could not be read, said so a user knows what to fix.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// `path: what is wrong`, printed as is.
        public var description: String

        /// A failure with its whole message.
        public init(_ description: String) {
            self.description = description
        }
    }

    /// Parses `path`: a scenario file, or a directory whose `*.yaml`/`*.yml` files (recursively, sorted by path)
    /// are all parsed. Throws `Failure` when something cannot be read, `LocatedError` for the first invalid file.
    public static func load(path: String) throws -> [Scenario] {
        var scenarios: [Scenario] = []
        for file in try files(at: path) {
            scenarios.append(try ScenarioParser.parse(yaml: try read(file), file: file))
        }
        return scenarios
    }

    /// The scenario files `path` stands for: itself when it is a file, otherwise every `*.yaml`/`*.yml` below it,
    /// sorted by path. A directory without any is an error, since it is almost certainly the wrong directory.
    public static func files(at path: String) throws(Failure) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw Failure("\(path): no such file or directory")
        }
        guard isDirectory.boolValue else { return [path] }
        guard let enumerator = FileManager.default.enumerator(atPath: path) else {
            throw Failure("\(path): cannot list this directory")
        }
        let base = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        var found: [String] = []
        while let relative = enumerator.nextObject() as? String {
            guard relative.hasSuffix(".yaml") || relative.hasSuffix(".yml") else { continue }
            let full = base + "/" + relative
            var entryIsDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: full, isDirectory: &entryIsDirectory)
            if exists && !entryIsDirectory.boolValue { found.append(full) }
        }
        guard !found.isEmpty else { throw Failure("\(path): no *.yaml or *.yml files in this directory") }
        return found.sorted()
    }

    /// The file's text, or a `Failure` saying why it cannot be read.
    public static func read(_ file: String) throws(Failure) -> String {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw Failure("\(file): cannot read this file (no permission, or it vanished)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw Failure("\(file): not UTF-8 text; scenario files must be UTF-8")
        }
        return text
    }
}
