import Foundation
import LocatedYAML
import Testing

@testable import Proxy

/// The repository root, found from this file's path (Tests/ProxyTests/ConfigExampleTests.swift).
private let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite struct ConfigExampleTests {
    @Test func exampleLoadsWithoutWarnings() throws {
        let path = repositoryRoot.appendingPathComponent("config.example.yaml").path
        let (config, warnings) = try ConfigLoader.load(contentsOf: path, environment: [:])
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(config.sortedModelIDs == ["coder", "embed", "qwen-7b", "remote-70b"])
        #expect(config.models["coder"]?.port == 5800)
        #expect(config.models["embed"]?.port == 5801)
        #expect(config.models["qwen-7b"]?.command?.contains("--ctx-size") == true)
        #expect(config.models["coder"]?.command?.suffix(2) == ["--ctx-size", "32768"])
        #expect(config.models["embed"]?.heartbeat.interval == nil)
        #expect(config.models["qwen-7b"]?.heartbeat.interval == .seconds(10))
        #expect(config.models["qwen-7b"]?.responseHeaderTimeout == .seconds(3600))
        #expect(config.models["qwen-7b"]?.streamIdleTimeout == .seconds(600))
        #expect(config.models["coder"]?.responseHeaderTimeout == .seconds(1800))
        #expect(config.models["remote-70b"]?.isExternal == true)
        #expect(config.groups.map(\.id) == ["chat", "always-on"])
    }

    /// The schema describes exactly the keys the loader understands, so editors and the loader agree.
    @Test func schemaListsEveryKeyTheLoaderKnows() throws {
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("config.schema.json"))
        let schema = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        let defs = try #require(schema["$defs"] as? [String: Any])
        func keys(_ object: Any?) -> Set<String> {
            Set(((object as? [String: Any])?["properties"] as? [String: Any])?.keys.map { $0 } ?? [])
        }
        #expect(keys(schema) == Set(ConfigLoader.topLevelKeys))
        #expect(keys(defs["model"]) == Set(ConfigLoader.modelKeys))
        #expect(keys(defs["group"]) == Set(ConfigLoader.groupKeys))
    }

    @Test func unreadableFileIsALocatedError() {
        #expect {
            _ = try ConfigLoader.load(contentsOf: "/nonexistent/config.yaml", environment: [:])
        } throws: { error in
            (error as? LocatedYAML.LocatedError)?.description.hasPrefix("/nonexistent/config.yaml:1:1: cannot read") == true
        }
    }
}
