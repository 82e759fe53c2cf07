import ArgumentParser
import FakeUpstream
import Logging

/// `harness serve`: run the fake upstream like a llama-server process until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve scenario files like a llama-server process.",
        discussion: """
            Behaves like llama-server, so it can stand as a model's `cmd` in a proxy config:
              cmd: harness serve --scenario Scenarios/slow-prefill.yaml --port ${PORT}

            With a directory, a request picks a scenario by the header `X-Scenario: NAME` (the file's stem); \
            without it the first file (by path) answers. Logs go to stderr; SIGTERM or SIGINT stops the server.

            Examples:
              harness serve --scenario Scenarios/slow-prefill.yaml --port 8081
              curl -N localhost:8081/v1/chat/completions -d '{"model":"m","stream":true,"messages":[]}'
              curl localhost:8081/__harness/journal
            """
    )

    @Option(name: .long, help: ArgumentHelp("A scenario file, or a directory of them.", valueName: "file|dir"))
    var scenario: String

    @Option(name: .long, help: "TCP port to listen on (0 picks a free one, printed on stderr).")
    var port: Int = 8080

    @Option(name: .long, help: "Address to bind. Loopback by default.")
    var host: String = "127.0.0.1"

    @Option(name: .long, help: "Multiply every scripted duration (0.01 replays 95 s in 0.95 s). Overrides the files'.")
    var timeScale: Double?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        if let timeScale, !(timeScale > 0 && timeScale.isFinite) {
            throw ValidationError("--time-scale must be a positive number, got \(timeScale)")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0...65535, got \(port)") }
    }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let options = ServeOptions(scenarioPath: scenario, host: host, port: port, timeScale: timeScale)
        do {
            try await HarnessServe.run(options, logger: Logger(label: "harness"))
        } catch let error as ServeError {
            printToStandardError(error.description)
            throw ExitCode(2)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
