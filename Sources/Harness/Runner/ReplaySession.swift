import FakeUpstream
import Foundation

/// `harness replay` as a library call: loads the files, chooses the time scale and topology, runs each scenario
/// (or compares), prints verdicts, writes the HTML report, and answers the exit code. The CLI only parses flags.
public struct ReplaySession: Sendable {
    /// Files and directories of scenarios.
    public var paths: [String]
    /// `--time-scale`; `nil` chooses: real time for one file given as a file, `directoryScale` for a directory or
    /// several files.
    public var timeScale: Double?
    /// `--direct`: no proxy even if one can be launched.
    public var direct: Bool
    /// `--compare`: with vs without heartbeat, per profile (needs the proxy).
    public var compare: Bool
    /// `--html FILE`: where to write the timeline report.
    public var htmlPath: String?
    /// The proxy launcher; `nil` when the proxy is not available.
    public var launcher: (any ProxyLauncher)?

    /// The scale for runs of more than one file: a 95 s prefill takes 0.95 s.
    public static let directoryScale = 0.01

    /// A session.
    public init(
        paths: [String], timeScale: Double? = nil, direct: Bool = false, compare: Bool = false,
        htmlPath: String? = nil, launcher: (any ProxyLauncher)? = ProxyLaunchers.standard
    ) {
        self.paths = paths
        self.timeScale = timeScale
        self.direct = direct
        self.compare = compare
        self.htmlPath = htmlPath
        self.launcher = launcher
    }

    /// Runs the session, printing through `print`; returns the exit code: 0 when nothing failed, 1 when an
    /// expectation failed, 2 when files or the run itself could not be used.
    public func run(print: @Sendable (String) -> Void) async -> Int32 {
        var files: [String] = []
        do {
            for path in paths { files += try ScenarioLoader.files(at: path) }
        } catch {
            print("error: \(error)")
            return 2
        }
        var scenarios: [Scenario] = []
        for file in files {
            do {
                scenarios.append(try ScenarioParser.parse(yaml: try ScenarioLoader.read(file), file: file))
            } catch {
                print("error: \(error)")
                return 2
            }
        }
        var isDirectory: ObjCBool = false
        let oneFile = paths.count == 1 && files.count == 1
            && FileManager.default.fileExists(atPath: paths[0], isDirectory: &isDirectory) && !isDirectory.boolValue
        let scale = timeScale ?? (oneFile ? 1 : Self.directoryScale)
        if compare {
            return await runCompare(scenarios, scale: scale, print: print)
        }
        let topology: ReplayTopology
        if !direct, let launcher {
            topology = .proxied(launcher)
        } else {
            topology = .direct
        }
        print("time scale \(scale) (\(scale == 1 ? "real time" : "1 s of scenario time takes \(scale) s")); "
            + "topology \(topology.name)"
            + (direct || launcher != nil ? "" : " (the proxy is not wired into the harness yet; running direct)"))
        var results: [ReplayResult] = []
        var failed = false
        for scenario in scenarios {
            do {
                let result = try await ReplayRunner.run(
                    scenario, options: ReplayOptions(timeScale: scale, topology: topology))
                results.append(result)
                print(result.verdictLine)
                if result.verdict == .fail {
                    failed = true
                    print(result.details)
                }
            } catch {
                print("ERROR \(scenario.name): the run failed: \(error)")
                failed = true
            }
        }
        let passed = results.filter { $0.verdict == .pass }.count
        let failures = results.filter { $0.verdict == .fail }.count
        print("\(results.count) scenarios: \(passed) pass, \(failures) fail, "
            + "\(results.count - passed - failures) without checked expectations")
        if let htmlPath, !writeReport(results, to: htmlPath, print: print) { return 2 }
        return failed ? 1 : 0
    }

    private func runCompare(_ scenarios: [Scenario], scale: Double, print: @Sendable (String) -> Void) async -> Int32 {
        guard let launcher, !direct else {
            print("--compare runs each scenario through the proxy with and without the heartbeat, but "
                + (direct ? "--direct was given" : "the proxy is not wired into the harness yet")
                + "; run without --compare for direct verdicts")
            return 2
        }
        print("time scale \(scale); comparing each scenario through the proxy with and without the heartbeat")
        var results: [ReplayResult] = []
        for scenario in scenarios {
            do {
                let compared = try await CompareRunner.run(scenario, launcher: launcher, timeScale: scale)
                compared.lines.forEach(print)
                results += [compared.withoutRun, compared.withRun]
            } catch {
                print("ERROR \(scenario.name): the run failed: \(error)")
                return 2
            }
        }
        if let htmlPath, !writeReport(results, to: htmlPath, print: print) { return 2 }
        return 0
    }

    private func writeReport(_ results: [ReplayResult], to path: String, print: @Sendable (String) -> Void) -> Bool {
        let page = TimelineReport.html(results)
        guard FileManager.default.createFile(atPath: path, contents: Data(page.utf8)) else {
            print("error: \(path): cannot write the report here (missing directory or no permission)")
            return false
        }
        print("report: \(path)")
        return true
    }
}
