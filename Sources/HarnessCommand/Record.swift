import ArgumentParser
import FakeUpstream
import Foundation
import Harness
import Logging
import Proxy
import ServiceLifecycle

/// `harness record`: a recording pass-through proxy in front of a real llama-server.
struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record a real server's responses as replayable scenario files.",
        discussion: """
            A pass-through proxy: point a client at --listen and it talks to --upstream as before, unbuffered. \
            Each request and its response become one scenario file in --out (NNNN-method-path.yaml) with the \
            exact bytes, TCP read boundaries and gaps (framing: raw); Authorization, X-Api-Key, Cookie and \
            Proxy-Authorization values are redacted in the files. Prints each file's path; SIGINT or SIGTERM stops.

            Example:
              harness record --upstream http://127.0.0.1:8080 --listen 127.0.0.1:8090 --out Scenarios/recorded
              curl -N 127.0.0.1:8090/v1/chat/completions -d '{"stream":true,"messages":[{"role":"user","content":"hi"}]}'
              harness check Scenarios/recorded
            """
    )

    @Option(name: .long, help: ArgumentHelp("The server to record.", valueName: "http://host:port"))
    var upstream: String

    @Option(name: .long, help: ArgumentHelp("Where clients connect (port 0 picks one).", valueName: "host:port"))
    var listen: String = "127.0.0.1:0"

    @Option(name: .long, help: ArgumentHelp("Directory for the scenario files (created if missing).", valueName: "dir"))
    var out: String

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        _ = try upstreamURL()
        _ = try listenAddress()
    }

    func upstreamURL() throws -> UpstreamURL {
        switch UpstreamURL.parse(upstream) {
        case .success(let url): return url
        case .failure(let failure): throw ValidationError("--upstream '\(upstream)': \(failure.reason)")
        }
    }

    func listenAddress() throws -> (host: String, port: Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port), colon != listen.startIndex
        else {
            throw ValidationError("--listen '\(listen)': expected host:port, such as 127.0.0.1:8090")
        }
        return (String(listen[..<colon]), port)
    }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let address = try listenAddress()
        let configuration = RecorderConfiguration(
            upstream: try upstreamURL(), listenHost: address.host, listenPort: address.port, outputDirectory: out,
            onRecorded: { file in
                if let failure = file.failure {
                    printToStandardError("error: \(failure)")
                } else {
                    // Unbuffered, so a script reading the paths sees each file at once.
                    FileHandle.standardOutput.write(Data((file.path + "\n").utf8))
                }
            })
        let recorder = Recorder(configuration: configuration, logger: Logger(label: "harness.record"))
        do {
            let port = try await recorder.start()
            printToStandardError("recording \(configuration.upstream) on \(address.host):\(port) into \(out)")
        } catch {
            printToStandardError("error: \(error)")
            throw ExitCode(2)
        }
        // SIGINT or SIGTERM: the group's graceful shutdown ends the recording.
        let recording = ClosureService {
            try? await gracefulShutdown()
            try await recorder.stop()
        }
        try await ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: recording)], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "harness.record"))
        ).run()
    }
}
