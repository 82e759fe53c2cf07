import LocatedYAML
import Testing

@testable import Proxy

@Suite struct ConfigMacroTests {
    @Test func nestedMacrosExpandInAnyOrder() throws {
        let (config, warnings) = try loadConfig(
            """
            macros:
              cmdline: ${bin} ${args}
              bin: /opt/llama-server
              args: --port ${PORT} --ctx-size ${ctx}
              ctx: 4096
            models:
              a:
                cmd: ${cmdline}
              b:
                macros:
                  ctx: 16384
                cmd: |
                  # ${not_a_macro} in a comment is fine
                  ${cmdline}
                  --alias ${MODEL_ID}
                name: ${MODEL_ID} on ${PORT}
            """)
        #expect(warnings.isEmpty)
        #expect(config.models["a"]?.command == ["/opt/llama-server", "--port", "5800", "--ctx-size", "4096"])
        #expect(
            config.models["b"]?.command == [
                "/opt/llama-server", "--port", "5801", "--ctx-size", "16384", "--alias", "b",
            ])
        #expect(config.models["b"]?.name == "b on 5801")
    }

    @Test func macrosExpandInProxyCheckEndpointAliasesAndStop() throws {
        let (config, _) = try loadConfig(
            """
            macros:
              host: 10.1.1.1
              ep: /ready
            models:
              x:
                cmd: docker run --name ${MODEL_ID} -p ${PORT}:8080 img
                cmdStop: docker stop ${MODEL_ID} # pid ${PID}
                proxy: http://${host}:${PORT}
                checkEndpoint: ${ep}
                aliases: ['${MODEL_ID}-alias']
                useModelName: ${MODEL_ID}
            """)
        let model = try #require(config.models["x"])
        #expect(model.command == ["docker", "run", "--name", "x", "-p", "5800:8080", "img"])
        #expect(model.stopCommand == ["docker", "stop", "x"])
        #expect(model.upstream == UpstreamURL(host: "10.1.1.1", port: 5800))
        #expect(model.checkEndpoint == "/ready")
        #expect(model.aliases.map(\.id) == ["x-alias"])
        #expect(model.useModelName == "x")
    }

    @Test func pidStaysForTheSupervisor() throws {
        let (config, _) = try loadConfig(
            """
            models:
              x:
                cmd: run --port ${PORT}
                cmdStop: kill -INT ${PID}
            """)
        #expect(config.models["x"]?.stopCommand == ["kill", "-INT", "${PID}"])
    }

    @Test func textThatIsNotAMacroIsKept() throws {
        let (config, _) = try loadConfig(
            """
            models:
              x:
                cmd: run --port ${PORT} --grammar '${ not a name }' --x '${'
            """)
        #expect(config.models["x"]?.command == ["run", "--port", "5800", "--grammar", "${ not a name }", "--x", "${"])
    }

    @Test(
        arguments: [
            // A direct self-reference, located at the macro's value.
            ("macros:\n  a: x ${a}\nmodels: {}", "test.yaml:2:6: macro 'a' uses itself: a → a"),
            // A cycle through three macros, even though no model uses them.
            (
                "macros:\n  a: ${b}\n  b: ${c}\n  c: ${a}\nmodels: {}",
                "test.yaml:2:6: macro 'a' uses itself: a → b → c → a"
            ),
            // A model macro closing a cycle with a global one.
            (
                "macros:\n  g: ${m}\nmodels:\n  x:\n    macros: {m: '${g}'}\n    cmd: run ${PORT} ${g}",
                "test.yaml:2:6: macro 'g' uses itself: g → m → g"
            ),
        ] as [(String, String)])
    func cyclesAreLocatedErrors(yaml: String, expected: String) throws {
        let error = try #require(configError(yaml))
        #expect(error.description == expected)
    }

    @Test(
        arguments: [
            (
                "models:\n  x:\n    cmd: run ${PORT} ${nope}",
                "test.yaml:3:10: unknown macro '${nope}' in models.x.cmd (define it under macros, globally or in the model)"
            ),
            (
                "macros:\n  a: --x ${missing}\nmodels:\n  x:\n    cmd: run ${PORT} ${a}",
                "test.yaml:2:6: unknown macro '${missing}' in macro 'a' (define it under macros, globally or in the model)"
            ),
            (
                "models:\n  x:\n    proxy: http://h:1\n    name: ${who}",
                "test.yaml:4:11: unknown macro '${who}' in models.x.name"
            ),
            (
                "models:\n  x:\n    cmd: run ${PORT}\n    checkEndpoint: /h/${PORT}",
                "test.yaml:4:20: unknown macro '${PORT}' in models.x.checkEndpoint (${PORT} cannot be used here)"
            ),
            (
                "models:\n  x:\n    cmd: run ${PORT}\n    cmdStop: stop ${PIDX}",
                "test.yaml:4:14: unknown macro '${PIDX}' in models.x.cmdStop"
            ),
        ] as [(String, String)])
    func unknownMacrosAreLocatedErrors(yaml: String, expected: String) throws {
        let error = try #require(configError(yaml))
        #expect(error.description.hasPrefix(expected), "\(error)")
    }

    @Test func unusedMacroWithUnknownReferenceIsFine() throws {
        // llama-swap only checks the fields that use macros; a global macro may rely on a model-level definition.
        let (config, _) = try loadConfig(
            """
            macros:
              args: --temp ${temp}
            models:
              x:
                macros: {temp: 0.7}
                cmd: run --port ${PORT} ${args}
              y:
                cmd: run --port ${PORT}
            """)
        #expect(config.models["x"]?.command == ["run", "--port", "5800", "--temp", "0.7"])
    }

    /// `${PORT}` goes to models whose cmd uses it, one each, in byte-wise sorted id order (llama-swap's order).
    @Test func portsAreAssignedInSortedOrder() throws {
        let (config, _) = try loadConfig(
            """
            startPort: 6000
            macros:
              serve: server --port ${PORT}
            models:
              zeta: {cmd: '${serve}'}
              Alpha: {cmd: 'server --port ${PORT}'}
              beta: {cmd: 'server --port 9999', proxy: 'http://127.0.0.1:9999'}
              alpha: {cmd: '${serve}'}
              external: {proxy: 'http://10.0.0.1:80'}
              mid: {cmd: 'server --port ${PORT} --again ${PORT}'}
            """)
        let ports = config.sortedModelIDs.map { "\($0)=\(config.models[$0]?.port.map(String.init) ?? "-")" }
        #expect(ports == ["Alpha=6000", "alpha=6001", "beta=-", "external=-", "mid=6002", "zeta=6003"])
        #expect(config.models["mid"]?.command == ["server", "--port", "6002", "--again", "6002"])
        #expect(config.models["zeta"]?.upstream.port == 6003)
        #expect(config.models["beta"]?.upstream.port == 9999)
    }

    @Test func portsRunOutPast65535() throws {
        let error = try #require(
            configError(
                """
                startPort: 65535
                models:
                  a: {cmd: 'run ${PORT}'}
                  b: {cmd: 'run ${PORT}'}
                """))
        #expect(error.location == SourceLocation(file: "test.yaml", line: 4, column: 12))
    }
}
