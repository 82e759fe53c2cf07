import LocatedYAML
import NIOCore
import Testing

@testable import Proxy

/// The small pure pieces the supervisor's processes rely on.
@Suite struct SupervisorPartsTests {
    @Test func parentDeathWrapperExecsTheCommandThroughSetpriv() {
        let argv = ["llama-server", "--port", "5800"]
        #expect(
            ParentDeathSignal.wrap(argv, setpriv: "/usr/bin/setpriv")
                == ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--", "llama-server", "--port", "5800"])
        #expect(ParentDeathSignal.wrap(argv, setpriv: nil) == argv)
        #expect(ParentDeathSignal.wrap([], setpriv: "/usr/bin/setpriv") == [])
    }

    /// Only a real 200 makes a model ready: llama-server answers 503 while loading, a dead backend behind another
    /// proxy 502; forwarding then would hand clients that error.
    @Test(
        arguments: [
            (200, HealthProbe.Outcome.healthy), (503, .unhealthy("HTTP 503")), (502, .unhealthy("HTTP 502")),
            (204, .unhealthy("HTTP 204")), (404, .unhealthy("HTTP 404")),
        ] as [(Int, HealthProbe.Outcome)])
    func healthProbeAcceptsOnly200(status: Int, outcome: HealthProbe.Outcome) {
        #expect(HealthProbe.outcome(status: status) == outcome)
    }

    @Test func missingExecutablesAreNamed() {
        #expect(UpstreamProcess.executableProblem("/bin/sh") == nil)
        #expect(UpstreamProcess.executableProblem("sh") == nil)
        #expect(UpstreamProcess.executableProblem("/no/such/llama-server")?.contains("no such file") == true)
        #expect(UpstreamProcess.executableProblem("no-such-llama-server-xyz")?.contains("not found in PATH") == true)
        #expect(UpstreamProcess.executableProblem("/etc")?.contains("is a directory") == true)
    }

    @Test func startFailureNamesTheExitAndTheLastLines() {
        let detail = UpstreamProcess.exitDetail(.exited(1), ["loading model", "error: out of memory"])
        #expect(detail.contains("exit status 1"))
        #expect(detail.contains("error: out of memory"))
        #expect(UpstreamProcess.exitDetail(.signaled(9), []).contains("signal 9 (SIGKILL)"))
    }
}

@Suite struct SupervisorReloadRuleTests {
    private static let base = ModelConfig(
        id: "llama", command: ["llama-server", "--port", "5800"], upstream: UpstreamURL(host: "127.0.0.1", port: 5800))

    @Test func onlyWhatShapesTheProcessRestartsIt() {
        var renamed = Self.base
        renamed.name = "Llama 3"
        renamed.ttl = .seconds(60)
        renamed.aliases = [ModelAlias(id: "gpt-4")]
        renamed.location = LocatedYAML.SourceLocation(file: "config.yaml", line: 40, column: 3)
        #expect(!Supervisor.needsRestart(from: Self.base, to: renamed))

        var newFlags = Self.base
        newFlags.command = ["llama-server", "--port", "5800", "-c", "8192"]
        #expect(Supervisor.needsRestart(from: Self.base, to: newFlags))
        var newEnvironment = Self.base
        newEnvironment.environment = ["CUDA_VISIBLE_DEVICES": "1"]
        #expect(Supervisor.needsRestart(from: Self.base, to: newEnvironment))
        var newPort = Self.base
        newPort.upstream = UpstreamURL(host: "127.0.0.1", port: 5801)
        #expect(Supervisor.needsRestart(from: Self.base, to: newPort))
    }
}
