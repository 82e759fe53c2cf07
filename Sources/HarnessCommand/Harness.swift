import ArgumentParser

/// `harness`: the fake llama-server and the tools around scenario files.
@main
struct Harness: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "harness",
        abstract: "A scriptable fake llama-server, and tools for the scenario files that drive it.",
        discussion: """
            Scenario files (YAML, see Scenarios/README.md) say what the fake upstream does over time: slow prefill, \
            stalls, split events, resets, hangs, health that stays 503.

            Examples:
              harness serve --scenario Scenarios/slow-prefill.yaml --port 8081
              harness serve --scenario Scenarios --port 8081 --time-scale 0.01
              harness check Scenarios
              harness replay Scenarios --compare
              harness record --upstream http://127.0.0.1:8080 --listen 127.0.0.1:8081 --out Scenarios/recorded
            """,
        subcommands: [Serve.self, Check.self, Replay.self, Record.self, Soak.self]
    )
}

import Foundation

/// Writes one line to stderr, where the harness reports errors so stdout stays machine-readable.
func printToStandardError(_ line: String) {
    var text = line
    if !text.hasSuffix("\n") { text += "\n" }
    FileHandle.standardError.write(Data(text.utf8))
}
