import Foundation
import Testing

@testable import FakeUpstream

/// `Scenarios/scenario.schema.json` must name exactly the keys and words the parser accepts, so editors and
/// `harness check` never disagree about what a key is called.
@Suite struct ScenarioSchemaTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func schema() throws -> [String: Any] {
        let data = try Data(contentsOf: repositoryRoot.appendingPathComponent("Scenarios/scenario.schema.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func definition(_ name: String) throws -> [String: Any] {
        let definitions = try #require(try schema()["$defs"] as? [String: Any])
        return try #require(definitions[name] as? [String: Any], "no $defs/\(name) in the schema")
    }

    static func propertyNames(_ object: [String: Any]) throws -> Set<String> {
        Set(try #require(object["properties"] as? [String: Any]).keys)
    }

    @Test func isDraft2020AndClosedEverywhere() throws {
        let schema = try Self.schema()
        #expect(schema["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        let definitions = try #require(schema["$defs"] as? [String: Any])
        let describedDefinitions = Set(definitions.compactMap { name, definition in
            (definition as? [String: Any])?["description"] != nil ? "#/$defs/\(name)" : nil
        })
        var objectsChecked = 0
        func visit(_ value: Any, path: String) {
            if let object = value as? [String: Any] {
                if object["properties"] != nil {
                    objectsChecked += 1
                    #expect(object["additionalProperties"] as? Bool == false, "\(path) lacks additionalProperties: false")
                    for (key, property) in object["properties"] as? [String: Any] ?? [:] {
                        let hasDescription = (property as? [String: Any])?["description"] != nil
                        // A property may take its description from the definition it references.
                        let referencesDescribed = ((property as? [String: Any])?["$ref"] as? String).map {
                            describedDefinitions.contains($0)
                        } ?? false
                        #expect(hasDescription || referencesDescribed, "\(path).\(key) has no description")
                    }
                }
                for (key, child) in object { visit(child, path: path + "/" + key) }
            } else if let array = value as? [Any] {
                for (index, child) in array.enumerated() { visit(child, path: path + "/\(index)") }
            }
        }
        visit(schema, path: "#")
        #expect(objectsChecked >= 13)
    }

    @Test(arguments: [
        ("health", ScenarioParser.Keys.health),
        ("healthState", ScenarioParser.Keys.healthState),
        ("rule", ScenarioParser.Keys.rule),
        ("match", ScenarioParser.Keys.match),
        ("sequenceEntry", ScenarioParser.Keys.sequenceEntry),
        ("step", ScenarioParser.Keys.step),
        ("event", ScenarioParser.Keys.event),
        ("split", ScenarioParser.Keys.split),
        ("tokens", ScenarioParser.Keys.tokens),
        ("llamaServer", ScenarioParser.Keys.llamaServer),
        ("ping", ScenarioParser.Keys.ping),
    ])
    func sectionKeysMatchTheParser(definition: String, keys: [String]) throws {
        #expect(try Self.propertyNames(try Self.definition(definition)) == Set(keys))
    }

    @Test func topLevelKeysMatchTheParser() throws {
        let schema = try Self.schema()
        #expect(try Self.propertyNames(schema) == Set(ScenarioParser.Keys.top))
        #expect(schema["required"] as? [String] == ["description"])
    }

    @Test func bytesFormsMatchTheParser() throws {
        let forms = try #require(try Self.definition("bytes")["oneOf"] as? [[String: Any]])
        var keys: Set<String> = []
        for form in forms where form["type"] as? String == "object" {
            #expect(form["additionalProperties"] as? Bool == false)
            keys.formUnion(try Self.propertyNames(form))
        }
        #expect(keys == Set(ScenarioParser.Keys.bytes))
    }

    @Test func stepKindsAndStatusOptionsMatchTheParser() throws {
        let step = try Self.definition("step")
        let kinds = try #require(step["oneOf"] as? [[String: Any]]).compactMap { ($0["required"] as? [String])?.first }
        #expect(kinds == ScenarioParser.Keys.stepKinds)
        let options = try #require(step["dependentRequired"] as? [String: [String]])
        #expect(Set(options.keys) == Set(ScenarioParser.Keys.statusOptions))
        #expect(options.values.allSatisfy { $0.first == "status" })
    }

    @Test func enumeratedWordsMatchTheModel() throws {
        func words(_ definition: String, _ property: String) throws -> [String] {
            let properties = try #require(try Self.definition(definition)["properties"] as? [String: Any])
            return try #require((properties[property] as? [String: Any])?["enum"] as? [String])
        }
        #expect(try words("step", "end") == Ending.allCases.map(\.rawValue))
        #expect(try words("tokens", "style") == TokenStyle.allCases.map(\.rawValue))
        #expect(try words("event", "lineEnding") == ScenarioParser.lineEndings.map(\.key))
        #expect(try words("step", "framing") == ScenarioParser.framings.map(\.key))
        #expect(try words("llamaServer", "headers") == ScenarioParser.headTimings.map(\.key))
        #expect(try words("llamaServer", "headers") == HeadTiming.allCases.map(\.rawValue))
    }
}
