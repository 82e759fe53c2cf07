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
            real byte arrival times. One verdict line per run (a file's top-level spec and each of its `runs:`), \
            printed as soon as the run ends; the timeline of each failure. Every run is bounded. Exit 1 when a run \
            failed (an expectation failed, nothing was checked, a gate stayed shut, or the client was still \
            waiting at the run's bound), 2 when a file could not be used.

            Examples:
              harness replay Scenarios
              harness replay Scenarios/slow-prefill.yaml --html report.html
              harness replay --compare Scenarios/slow-prefill*.yaml
            """
    )

    @Argument(help: ArgumentHelp("Scenario files or directories.", valueName: "path"))
    var paths: [String]

    @Option(
        name: .long,
        help: """
            Multiply every duration. Default: per file, whatever the number of files: its shortest heartbeat \
            interval or gap bound takes 0.8 s (files without one: 0.01).
            """)
    var timeScale: Double?

    @Option(name: .long, help: "How many runs go at once (each prints its verdict as soon as it ends).")
    var jobs = 4

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
        if jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
    }

    func run() async throws {
        let session = ReplaySession(
            paths: paths, timeScale: timeScale, direct: direct, compare: compare, htmlPath: html, jobs: jobs)
        let code = await session.run { line in Swift.print(line) }
        if code != 0 { throw ExitCode(code) }
    }
}
