import LocatedYAML
import Testing

@testable import Proxy

/// Mutated config texts never crash the loader: each loads, or fails with an error placed inside the text.
@Suite struct ConfigFuzzTests {
    static let seedText = """
        healthCheckTimeout: 60
        logLevel: info
        startPort: 7000
        globalTTL: 10m
        heartbeatInterval: 15s
        heartbeatComment: keepalive
        apiKeys: ["sk-1"]
        macros:
          bin: /opt/llama-server
          args: "--ctx-size ${ctx} --port ${PORT}"
          ctx: 4096
        models:
          llama:
            cmd: |
              # comment ${nothing}
              ${bin} ${args} \\
                --model 'a b.gguf'
            cmdStop: kill ${PID}
            aliases: [gpt, {id: gpt-4, unlisted: true}]
            env: ["A=1"]
            ttl: 30
            macros: {ctx: 8192}
          ext:
            proxy: http://127.0.0.1:9000/v1
            checkEndpoint: none
            heartbeatInterval: 500ms
        groups:
          g1:
            swap: true
            exclusive: false
            members: [llama]
        """

    static let fragments = [
        ":", " ", "\n", "\t", "{", "}", "[", "]", "'", "\"", "\\", "${", "}", "${PORT}", "${bin}", "#", "-", "- ",
        "&a ", "*a", "!!int ", "<<: ", "~", "null", "yes", "-1", "1e300", "99999999999h", "é", "\u{0}", "\r\n", "|",
        ">", "? ", "${env.X}", "http://", "0", "%", "@", "`", ",",
    ]

    @Test(arguments: 0..<8)
    func mutatedConfigsNeverCrash(batch: Int) {
        var generator = SeededGenerator(seed: 0xC0F1_6000 + UInt64(batch))
        let base = Array(Self.seedText)
        for _ in 0..<250 {
            var text = base
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                let position = Int.random(in: 0...text.count, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0 where !text.isEmpty:
                    let end = min(text.count, position + Int.random(in: 1...8, using: &generator))
                    text.removeSubrange(min(position, text.count - 1)..<end)
                case 1:
                    text.insert(contentsOf: Self.fragments.randomElement(using: &generator)!, at: position)
                case 2 where !text.isEmpty:
                    let start = Int.random(in: 0..<text.count, using: &generator)
                    let end = min(text.count, start + Int.random(in: 1...40, using: &generator))
                    text.insert(contentsOf: text[start..<end], at: position)
                default:
                    if position < text.count {
                        text[position] = Self.fragments.randomElement(using: &generator)!.first ?? " "
                    }
                }
            }
            let yaml = String(text)
            do {
                let (config, warnings) = try ConfigLoader.load(yaml: yaml, file: "fuzz.yaml", environment: ["X": "x"])
                #expect(warnings.allSatisfy { $0.location.file == "fuzz.yaml" && $0.location.line >= 1 })
                for model in config.models.values {
                    #expect(config.group(of: model.id) != nil, "every model is in a group")
                }
            } catch {
                let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).count
                #expect(error.location.file == "fuzz.yaml")
                #expect(error.location.line >= 1 && error.location.line <= lines + 1, "\(error)")
                #expect(error.location.column >= 1)
                #expect(!error.message.isEmpty)
            }
        }
    }

    @Test(arguments: ["[", "{a: ", "- "])
    func deeplyNestedYamlDoesNotOverflowTheStack(opening: String) throws {
        let yaml = "models: " + String(repeating: opening, count: 50_000)
        let error = try #require(configError(yaml))
        #expect(error.location.line >= 1)
    }

    @Test func exponentialMacrosFailWithAMessage() throws {
        var macros = "macros:\n  m0: abcdefghij\n"
        for level in 1...40 { macros += "  m\(level): ${m\(level - 1)}${m\(level - 1)}\n" }
        let error = try #require(configError(macros + "models:\n  a:\n    cmd: run ${PORT} ${m40}"))
        #expect(error.message.contains("more than 1 MiB"))
    }

    @Test(arguments: ["1e300", "99999999999999h", "10000000000"])
    func hugeDurationsAreErrorsNotTraps(text: String) throws {
        let error = try #require(configError("globalTTL: \(text)\nmodels: {}"))
        #expect(error.location == SourceLocation(file: "test.yaml", line: 1, column: 12))
    }
}
