import ArgumentParser
import DurationMath
import Foundation
import Harness
import LocatedYAML
import Wire

/// `harness soak`: the scenario library's faults through the real `llama-proxy` under concurrent load (the logic
/// is `SoakSession` in the Harness library).
struct Soak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the scenario library's faults through the real llama-proxy under concurrent load.",
        discussion: """
            Starts llama-proxy (the executable beside this one) with one `harness serve` model per client and \
            scenario run, then N clients send seeded exchanges for the given duration: resets, stalls inside \
            events, wrong lengths, never-ready and slow loads, hangs, errors, client hang-ups, and crashes of idle \
            models. Every exchange is judged by its scenario's expectations. The proxy's fds, RSS and threads are \
            read from /proc after a warm-up and at the end, both with every model unloaded. A progress line every \
            10 s. Exit 1 on any mismatch or when the proxy's resources are not flat, 2 when it cannot start.

            Examples:
              harness soak --clients 8 --duration 60s --seed 1
              harness soak --clients 8 --duration 30m
            """
    )

    @Option(name: .long, help: "Concurrent clients.")
    var clients = 8

    @Option(name: .long, help: ArgumentHelp("How long the clients send (60s, 30m, …), warm-up included.", valueName: "duration"))
    var duration = "60s"

    @Option(name: .long, help: "Seed of the clients' choices.")
    var seed: UInt64 = 1

    @Option(name: .long, help: ArgumentHelp("The scenario library.", valueName: "directory"))
    var scenarios = "Scenarios"

    @Option(name: .long, help: ArgumentHelp("The llama-proxy executable (default: beside this harness).", valueName: "path"))
    var proxy: String?

    func validate() throws {
        if clients < 1 { throw ValidationError("--clients must be at least 1, got \(clients)") }
        guard let parsed = try? DurationParser.duration(duration), parsed >= .seconds(1) else {
            throw ValidationError("--duration must be a duration of at least 1 s (60s, 30m), got '\(duration)'")
        }
        _ = parsed
    }

    func run() async throws {
        let length = try DurationParser.duration(duration)
        let harness = Self.executablePath()
        let directory = (harness as NSString).deletingLastPathComponent
        var session = SoakSession(
            clients: clients, duration: length, seed: seed, scenarios: scenarios,
            proxyExecutable: proxy ?? (directory as NSString).appendingPathComponent("llama-proxy"),
            harnessExecutable: harness)
        session.handlesSignals = true
        let outcome = await session.run { line in
            Swift.print(line)
            fflush(nil)  // every output stream: progress lines reach a pipe (CI log) at once
        }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    /// This executable's absolute path (the models' `cmd` runs it as `harness serve`).
    static func executablePath() -> String {
        if let path = Bundle.main.executablePath { return (path as NSString).standardizingPath }
        let argument = CommandLine.arguments[0]
        if argument.hasPrefix("/") { return argument }
        return (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(argument)
    }
}
