import LocatedYAML
import Testing

@testable import Proxy

/// Loads `yaml` as `test.yaml` with a fixed environment.
func loadConfig(_ yaml: String, environment: [String: String] = [:]) throws -> (ProxyConfig, [ConfigWarning]) {
    try ConfigLoader.load(yaml: yaml, file: "test.yaml", environment: environment)
}

/// The error loading `yaml` gives, as `test.yaml:line:column: message`.
func configError(_ yaml: String, environment: [String: String] = [:]) -> LocatedError? {
    do {
        _ = try ConfigLoader.load(yaml: yaml, file: "test.yaml", environment: environment)
        return nil
    } catch {
        return error
    }
}

@Suite struct ConfigLoaderTests {
    @Test func everyKeyParses() throws {
        let (config, warnings) = try loadConfig(
            """
            healthCheckTimeout: 300
            logLevel: debug
            startPort: 9000
            sendLoadingState: true
            globalTTL: 5m
            apiKeys: [sk-one, "sk-two"]
            heartbeatInterval: 15s
            heartbeatComment: still working
            macros:
              server: /opt/llama-server
            models:
              big:
                cmd: ${server} --port ${PORT} -m big.gguf
                cmdStop: kill -TERM ${PID}
                aliases: [gpt-4o, {id: gpt-4, name: GPT four, unlisted: true}]
                env: ["CUDA_VISIBLE_DEVICES=0,1", "EMPTY="]
                checkEndpoint: /v1/models
                ttl: 90
                unlisted: true
                useModelName: org/big
                name: Big model
                description: The big one
                concurrencyLimit: 4
                sendLoadingState: false
                heartbeatInterval: 30s
                heartbeatComment: big is thinking
                macros:
                  extra: --flash-attn
              external:
                proxy: http://10.0.0.5:8081/base/
                checkEndpoint: none
            groups:
              pair:
                swap: false
                exclusive: false
                persistent: true
                members: [big, external]
            """)
        #expect(warnings.isEmpty, "\(warnings)")
        #expect(config.healthCheckTimeout == .seconds(300))
        #expect(config.logLevel == .debug)
        #expect(config.startPort == 9000)
        #expect(config.sendLoadingState)
        #expect(config.globalTTL == .seconds(300))
        #expect(config.apiKeys == ["sk-one", "sk-two"])
        #expect(config.heartbeat == HeartbeatSettings(interval: .seconds(15), comment: "still working"))

        let big = try #require(config.models["big"])
        #expect(big.command == ["/opt/llama-server", "--port", "9000", "-m", "big.gguf"])
        #expect(big.stopCommand == ["kill", "-TERM", "${PID}"])
        #expect(big.port == 9000)
        #expect(big.upstream == UpstreamURL(host: "127.0.0.1", port: 9000))
        #expect(big.aliases == [ModelAlias(id: "gpt-4o"), ModelAlias(id: "gpt-4", name: "GPT four", unlisted: true)])
        #expect(big.environment == ["CUDA_VISIBLE_DEVICES": "0,1", "EMPTY": ""])
        #expect(big.checkEndpoint == "/v1/models")
        #expect(big.ttl == .seconds(90))
        #expect(big.unlisted)
        #expect(big.useModelName == "org/big")
        #expect(big.name == "Big model")
        #expect(big.description == "The big one")
        #expect(big.concurrencyLimit == 4)
        #expect(!big.sendLoadingState)
        #expect(big.heartbeat == HeartbeatSettings(interval: .seconds(30), comment: "big is thinking"))
        #expect(big.location == SourceLocation(file: "test.yaml", line: 12, column: 3))

        let external = try #require(config.models["external"])
        #expect(external.isExternal)
        #expect(external.upstream == UpstreamURL(host: "10.0.0.5", port: 8081, basePath: "/base"))
        #expect(external.checkEndpoint == nil)
        #expect(external.port == nil)
        #expect(external.ttl == .seconds(300), "globalTTL applies")
        #expect(external.sendLoadingState, "global sendLoadingState applies")
        #expect(external.heartbeat == config.heartbeat, "global heartbeat applies")

        #expect(
            config.groups == [
                GroupConfig(
                    id: "pair", swap: false, exclusive: false, persistent: true, members: ["big", "external"],
                    location: SourceLocation(file: "test.yaml", line: 33, column: 3))
            ])
        #expect(config.aliases == ["gpt-4o": "big", "gpt-4": "big"])
        #expect(config.model(named: "gpt-4")?.id == "big")
        #expect(config.model(named: "nope") == nil)
    }

    @Test func defaults() throws {
        let (config, warnings) = try loadConfig(
            """
            models:
              a:
                cmd: server --port ${PORT}
            """)
        #expect(warnings.isEmpty)
        #expect(config.healthCheckTimeout == .seconds(120))
        #expect(config.logLevel == .info)
        #expect(config.startPort == 5800)
        #expect(config.globalTTL == nil)
        #expect(config.apiKeys.isEmpty)
        #expect(!config.sendLoadingState)
        #expect(config.heartbeat == HeartbeatSettings(interval: nil, comment: "keepalive"))
        let model = try #require(config.models["a"])
        #expect(model.upstream.description == "http://127.0.0.1:5800")
        #expect(model.port == 5800)
        #expect(model.checkEndpoint == "/health")
        #expect(model.ttl == nil)
        #expect(!model.unlisted)
        #expect(model.useModelName == nil)
        #expect(model.name == nil && model.description == nil)
        #expect(model.concurrencyLimit == 10)
        #expect(model.stopCommand == nil)
        #expect(model.environment.isEmpty)
        #expect(model.aliases.isEmpty)
        #expect(
            config.groups == [
                GroupConfig(id: "(default)", swap: true, exclusive: true, persistent: false, members: ["a"])
            ])
    }

    @Test(
        arguments: [
            ("healthCheckTimeout: 5", 15.0, true),
            ("healthCheckTimeout: 15", 15.0, false),
            ("healthCheckTimeout: 2m", 120.0, false),
            ("healthCheckTimeout: '500ms'", 15.0, true),
        ] as [(String, Double, Bool)])
    func healthCheckTimeoutHasLlamaSwapsMinimum(line: String, seconds: Double, warns: Bool) throws {
        let (config, warnings) = try loadConfig("\(line)\nmodels: {a: {proxy: 'http://h:1'}}")
        #expect(config.healthCheckTimeout == .seconds(seconds))
        #expect(warnings.map(\.keyPath) == (warns ? ["healthCheckTimeout"] : []))
        if warns { #expect(warnings[0].location == SourceLocation(file: "test.yaml", line: 1, column: 21)) }
    }

    @Test(
        arguments: [
            ("90", 90.0), ("0.5", 0.5), ("500ms", 0.5), ("'10s'", 10.0), ("2m", 120.0), ("1m30s", 90.0), ("1h", 3600.0),
        ] as [(String, Double)])
    func durationForms(text: String, seconds: Double) throws {
        let (config, _) = try loadConfig("globalTTL: \(text)\nmodels: {a: {proxy: 'http://h:1'}}")
        #expect(config.globalTTL == .milliseconds(Int64(seconds * 1000)))
    }

    @Test func ttlZeroNeverUnloadsAndMinusOneInheritsGlobal() throws {
        let (config, _) = try loadConfig(
            """
            globalTTL: 60
            models:
              never: {proxy: 'http://h:1', ttl: 0}
              inherit: {proxy: 'http://h:2', ttl: -1}
              own: {proxy: 'http://h:3', ttl: 10s}
              unset: {proxy: 'http://h:4'}
            """)
        #expect(config.models["never"]?.ttl == nil)
        #expect(config.models["inherit"]?.ttl == .seconds(60))
        #expect(config.models["own"]?.ttl == .seconds(10))
        #expect(config.models["unset"]?.ttl == .seconds(60))
    }

    @Test(arguments: [
        ("warn", "warning"), ("WARN", "warning"), ("error", "error"), ("info", "info"), ("debug", "debug"),
    ])
    func logLevels(text: String, expected: String) throws {
        let (config, _) = try loadConfig("logLevel: \(text)\nmodels: {a: {proxy: 'http://h:1'}}")
        #expect(config.logLevel.rawValue == expected)
    }

    @Test func unknownKeysWarnWithTheirPlace() throws {
        let (config, warnings) = try loadConfig(
            """
            logTimeFormat: rfc3339
            models:
              a:
                cmd: run --port ${PORT}
                filters:
                  stripParams: top_k.x
            groups:
              g:
                members: [a]
                colour: blue
            modles: {}
            """)
        #expect(config.models.count == 1)
        #expect(
            warnings.map(\.description) == [
                "test.yaml:1:1: warning: 'logTimeFormat' in the top level is a llama-swap setting this proxy does not support yet; ignored",
                "test.yaml:6:20: warning: 'top_k.x' in stripParams of the filters of model 'a' is taken as one top-level key of the request body, as written; llama-swap reads it as a path ('.' reaches into nested objects)",
                "test.yaml:10:5: warning: unknown key 'colour' in group 'g' is ignored (a typo?)",
                "test.yaml:11:1: warning: unknown key 'modles' in the top level is ignored; did you mean 'models'?",
            ])
        #expect(warnings.map(\.keyPath) == ["logTimeFormat", "models.a.filters.stripParams", "groups.g.colour", "modles"])
    }

    /// Each invalid value names its exact place and says what was expected and what was found.
    @Test(
        arguments: [
            ("startPort: abc\nmodels: {}", "test.yaml:1:12: startPort: expected a whole number from 1 to 65535, got 'abc'"),
            ("startPort: 0\nmodels: {}", "test.yaml:1:12: startPort: expected a whole number from 1 to 65535, got '0'"),
            ("globalTTL: soon\nmodels: {}", "globalTTL: expected a duration"),
            ("globalTTL: -5\nmodels: {}", "test.yaml:1:12: globalTTL: expected a duration"),
            (
                "sendLoadingState: maybe\nmodels: {}",
                "test.yaml:1:19: sendLoadingState: expected true or false, got 'maybe'"
            ),
            (
                "logLevel: loud\nmodels: {}",
                "test.yaml:1:11: logLevel: expected one of debug, info, warn, error, got 'loud'"
            ),
            ("apiKeys: ['ok', '']\nmodels: {}", "test.yaml:1:17: apiKeys: expected a non-empty key"),
            ("apiKeys: ['a b']\nmodels: {}", "test.yaml:1:11: apiKeys: a key cannot contain spaces"),
            ("models: [a, b]", "test.yaml:1:9: models: expected a mapping, got a list"),
            (
                "models:\n  a:",
                "test.yaml:2:5: models.a: expected the model's settings (a mapping with cmd or proxy), got nothing"
            ),
            (
                "models: {a: {proxy: 'http://h:1'}}\ngroups:\n  g: [a]",
                "test.yaml:3:6: groups.g: expected the group's settings (a mapping with members), got a list"
            ),
            (
                "models: {a: {proxy: 'http://h:1'}}\ngroups:\n  g: {members: [a]}\n  h: {members: [a]}",
                "test.yaml:4:17: groups.h.members: model 'a' is already a member of group 'g' (test.yaml:3:17); a model can be in one group only"
            ),
            (
                "models: {a: {proxy: 'http://h:1'}}\ngroups:\n  g: {members: [a, a]}",
                "test.yaml:3:20: groups.g.members: model 'a' is listed twice"
            ),
            (
                "models: {a: {proxy: 'http://h:1'}}\ngroups:\n  g: {members: [a], swap: sometimes}",
                "test.yaml:3:27: groups.g.swap: expected true or false, got 'sometimes'"
            ),
            (
                "models: {a: {proxy: 'http://h:1'}}\ngroups:\n  '(default)': {members: [a]}",
                "test.yaml:3:3: groups: '(default)' is the name of the default group"
            ),
            (
                "models:\n  a: run it",
                "test.yaml:2:6: models.a: expected the model's settings (a mapping with cmd or proxy), got 'run it'"
            ),
            ("models:\n  a:\n    cmd: [x]", "test.yaml:3:10: models.a.cmd: expected a string, got a list"),
            (
                "models:\n  a:\n    cmd: run --port ${PORT}\n    ttl: forever",
                "test.yaml:4:10: models.a.ttl: expected a duration"
            ),
            (
                "models:\n  a:\n    cmd: run --port ${PORT}\n    concurrencyLimit: -1",
                "test.yaml:4:23: models.a.concurrencyLimit: expected a whole number >= 0, got '-1'"
            ),
            (
                "models:\n  a:\n    cmd: run --port ${PORT}\n    env: [NOEQUALS]",
                "test.yaml:4:11: models.a.env: expected NAME=value, got \"NOEQUALS\""
            ),
            (
                "models:\n  a:\n    cmd: run --port ${PORT}\n    checkEndpoint: health",
                "test.yaml:4:20: models.a.checkEndpoint: expected a path starting with /"
            ),
            (
                "models:\n  a:\n    cmd: \"run 'open\"",
                "test.yaml:3:10: models.a.cmd: line 1, column 5 of the command: the single quote opened here is never closed"
            ),
            ("models:\n  a:\n    cmd: '# only a comment'", "test.yaml:3:10: models.a.cmd: the command is empty"),
            (
                "models:\n  a:\n    proxy: https://example.com",
                "test.yaml:3:12: models.a.proxy: https upstreams are not supported"
            ),
            (
                "models:\n  a:\n    proxy: ftp://x",
                "test.yaml:3:12: models.a.proxy: expected a URL such as http://127.0.0.1:8080"
            ),
            (
                "models:\n  a:\n    proxy: http://h:99999",
                "test.yaml:3:12: models.a.proxy: expected a port from 1 to 65535"
            ),
            (
                "models:\n  a:\n    checkEndpoint: none",
                "test.yaml:2:3: model 'a' has no cmd, so the proxy does not start it: set proxy"
            ),
            (
                "models:\n  a:\n    cmd: run\n    proxy: http://h:${PORT}",
                "test.yaml:4:12: models.a.proxy uses ${PORT} but cmd does not"
            ),
            ("a: [unclosed\n", "test.yaml:2:1: invalid YAML"),
            (
                "models:\n  a: {proxy: 'http://h:1'}\n  a: {proxy: 'http://h:2'}",
                "test.yaml:3:3: duplicate key 'a'; it is already set at 2:3"
            ),
            ("", "test.yaml:1:1: the config is empty"),
            ("logLevel: info", "test.yaml:1:1: the config has no models section"),
            ("- a\n- b", "test.yaml:1:1: the config: expected a mapping, got a list"),
            ("macros:\n  PORT: 1\nmodels: {}", "test.yaml:2:3: macros: 'PORT' is reserved"),
            ("macros:\n  'bad name': 1\nmodels: {}", "test.yaml:2:3: macros: expected a macro name"),
            (
                "macros:\n  m: [1, 2]\nmodels: {}",
                "test.yaml:2:6: macros.m: expected a text, number or boolean value, got a list"
            ),
            ("heartbeatInterval: -1\nmodels: {}", "test.yaml:1:20: heartbeatInterval: expected a duration"),
            ("heartbeatInterval: often\nmodels: {}", "test.yaml:1:20: heartbeatInterval: expected a duration"),
            (
                "heartbeatComment: \"two\\nlines\"\nmodels: {}",
                "test.yaml:1:19: heartbeatComment: expected one line of text without CR or LF"
            ),
            (
                "models:\n  a:\n    proxy: http://h:1\n    heartbeatInterval: -2s",
                "test.yaml:4:24: models.a.heartbeatInterval: expected a duration"
            ),
            (
                "models:\n  a:\n    proxy: http://h:1\n    heartbeatComment: \"x\\ry\"",
                "test.yaml:4:23: models.a.heartbeatComment: expected one line"
            ),
            (
                "apiKeys: ['${env.SECRET}']\nmodels: {}",
                "test.yaml:1:11: apiKeys: environment variable 'SECRET' (used as ${env.SECRET}) is not set"
            ),
        ] as [(String, String)])
    func invalidValuesAreLocatedErrors(yaml: String, expected: String) throws {
        let error = try #require(configError(yaml))
        #expect(error.description.hasPrefix(expected) || error.description.contains(expected), "\(error)")
        #expect(error.description.hasPrefix("test.yaml:"))
    }

    @Test func aliasesMustBeUnique() throws {
        let error = try #require(
            configError(
                """
                models:
                  a: {proxy: 'http://h:1', aliases: [shared]}
                  b: {proxy: 'http://h:2', aliases: [other, shared]}
                """))
        #expect(error.location == SourceLocation(file: "test.yaml", line: 3, column: 45))
        #expect(error.message.contains("alias 'shared' is already used by model 'a' (test.yaml:2:38)"))
    }

    @Test func unknownKeyInAliasMappingWarns() throws {
        let (config, warnings) = try loadConfig("""
            models:
              a: {proxy: 'http://h:1', aliases: [{id: x, colour: red}]}
            """)
        #expect(config.aliases == ["x": "a"])
        #expect(warnings.map(\.description) == [
            "test.yaml:2:46: warning: unknown key 'colour' in an alias of 'a' is ignored (a typo?)"
        ])
    }

    @Test func aliasNamingAModelWarns() throws {
        let (config, warnings) = try loadConfig(
            """
            models:
              a: {proxy: 'http://h:1', aliases: [b]}
              b: {proxy: 'http://h:2'}
            """)
        #expect(config.model(named: "b")?.id == "b")
        #expect(warnings.map(\.keyPath) == ["models.a.aliases"])
    }

    @Test func environmentReferencesAreExpandedEverywhere() throws {
        let (config, _) = try loadConfig(
            """
            startPort: ${env.BASE}
            apiKeys: ["${env.KEY}"]
            models:
              a:
                cmd: server --port ${PORT} -m ${env.HOME}/m.gguf
                env: ["TOKEN=${env.KEY}"]
            """, environment: ["BASE": "7000", "KEY": "sk-secret", "HOME": "/home/me"])
        #expect(config.startPort == 7000)
        #expect(config.apiKeys == ["sk-secret"])
        #expect(config.models["a"]?.command == ["server", "--port", "7000", "-m", "/home/me/m.gguf"])
        #expect(config.models["a"]?.environment == ["TOKEN": "sk-secret"])
    }

    @Test func yamlScalarsAreTakenAsWritten() throws {
        // YAML 1.1 would turn these into a bool and an octal number; a string field must keep the text.
        let (config, _) = try loadConfig(
            """
            models:
              a:
                proxy: http://h:1
                name: yes
                useModelName: 010
                unlisted: yes
            """)
        let model = try #require(config.models["a"])
        #expect(model.name == "yes")
        #expect(model.useModelName == "010")
        #expect(model.unlisted)
    }

    @Test func nullValuesMeanDefaults() throws {
        let (config, warnings) = try loadConfig(
            """
            globalTTL:
            macros: ~
            groups:
            models:
              a:
                cmd: run --port ${PORT}
                cmdStop:
                aliases:
                ttl: null
            """)
        #expect(warnings.isEmpty)
        #expect(config.models["a"]?.stopCommand == nil)
        #expect(config.models["a"]?.ttl == nil)
        #expect(config.groups.map(\.id) == ["(default)"])
    }
}
