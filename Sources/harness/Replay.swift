import ArgumentParser
import Foundation
import Harness

/// `harness replay`: run scenario files as executable specs and print a verdict per file.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay scenario files end to end and check their expectations.",
        discussion: """
            Each scenario runs with the fake upstream, the proxy (when available) and a client that applies the \
            scenario's timeout profile (undici, openai-python, openai-node, nginx, cloudflare or custom) to the \
            real byte arrival times. One verdict line per scenario; the timeline of each failure; exit 1 when an \
            expectation failed, 2 when a file or the run could not be used.

            Examples:
              harness replay Scenarios
              harness replay Scenarios/slow-prefill.yaml --time-scale 0.01 --html report.html
              harness replay --compare Scenarios/slow-prefill*.yaml
            """
    )

    @Argument(help: ArgumentHelp("Scenario files or directories.", valueName: "path"))
    var paths: [String]

    @Option(name: .long, help: "Multiply every duration. Default: 1 for one file, 0.01 for several.")
    var timeScale: Double?

    @Flag(name: .long, help: "Run client → fake upstream, without the proxy.")
    var direct = false

    @Flag(name: .long, help: "Per client profile: would it time out with and without the heartbeat? Needs the proxy.")
    var compare = false

    @Option(name: .long, help: ArgumentHelp("Write the timeline report (self-contained HTML) here.", valueName: "file"))
    var html: String?

    func validate() throws {
        if let timeScale, !(timeScale > 0 && timeScale.isFinite) {
            throw ValidationError("--time-scale must be a positive number, got \(timeScale)")
        }
    }

    func run() async throws {
        let session = ReplaySession(
            paths: paths, timeScale: timeScale, direct: direct, compare: compare, htmlPath: html)
        let code = await session.run { line in Swift.print(line) }
        if code != 0 { throw ExitCode(code) }
    }
}
