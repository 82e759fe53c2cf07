import ArgumentParser
import FakeUpstream

/// `harness check`: validate scenario files before a test or a proxy run trips over them.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate scenario files.",
        discussion: """
            Prints one line per file: `ok` with its description, or the first mistake as file:line:column. \
            Exits 0 when every file is valid, 2 otherwise.

            Examples:
              harness check Scenarios
              harness check Scenarios/slow-prefill.yaml Scenarios/rst-mid-stream.yaml
            """
    )

    @Argument(help: ArgumentHelp("Scenario files or directories.", valueName: "path"))
    var paths: [String]

    func run() throws {
        let report = ScenarioCheck.run(paths: paths)
        for line in report.lines { print(line) }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }
}
