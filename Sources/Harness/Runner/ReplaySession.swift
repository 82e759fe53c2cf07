import FakeUpstream
import Foundation

/// `harness replay` as a library call: loads the files, chooses the time scale and topology, runs each scenario
/// (or compares), prints verdicts, writes the HTML report, and answers the exit code. The CLI only parses flags.
public struct ReplaySession: Sendable {
    /// Files and directories of scenarios.
    public var paths: [String]
    /// `--time-scale`; `nil` chooses per file (`ReplayTimeScale.automatic`), the same for one file or many.
    public var timeScale: Double?
    /// `--direct`: no proxy even if one can be launched.
    public var direct: Bool
    /// `--compare`: with vs without heartbeat, per profile (needs the proxy).
    public var compare: Bool
    /// `--html FILE`: where to write the timeline report.
    public var htmlPath: String?
    /// The proxy launcher; `nil` when the proxy is not available.
    public var launcher: (any ProxyLauncher)?
    /// `--jobs`: how many runs go at once. Each run has its own event loops; more at once share the cores.
    public var jobs: Int

    /// A session.
    public init(
        paths: [String], timeScale: Double? = nil, direct: Bool = false, compare: Bool = false,
        htmlPath: String? = nil, launcher: (any ProxyLauncher)? = ProxyLaunchers.standard, jobs: Int = 4
    ) {
        self.paths = paths
        self.timeScale = timeScale
        self.direct = direct
        self.compare = compare
        self.htmlPath = htmlPath
        self.launcher = launcher
        self.jobs = max(1, jobs)
    }

    /// The summary's counts: runs, passes, failures, and how many of the failures checked nothing.
    public struct Tally: Sendable, Hashable {
        /// Runs finished (their verdicts printed).
        public var runs = 0
        /// Runs that passed.
        public var passed = 0
        /// Runs that failed, unchecked ones and runs that could not happen included.
        public var failed = 0
        /// Failed runs that checked nothing.
        public var unchecked = 0

        /// `34 files, 52 runs: 52 pass, 0 fail, 0 unchecked`.
        public func line(files: Int) -> String {
            "\(files) file\(files == 1 ? "" : "s"), \(runs) run\(runs == 1 ? "" : "s"): \(passed) pass, \(failed) fail, \(unchecked) unchecked"
                + (unchecked > 0 ? " (a run that checks nothing fails)" : "")
        }
    }

    /// Runs the session, printing through `print` (each verdict as soon as its run ends); returns the exit code:
    /// 0 when every run passed, 1 when one failed (an unchecked run fails), 2 when files could not be used.
    public func run(print: @escaping @Sendable (String) -> Void) async -> Int32 {
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
        let scaleLine = timeScale.map { "time scale \($0) (1 s of scenario time takes \($0) s)" }
            ?? ReplayTimeScale.summary
        if compare {
            return await runCompare(scenarios, scaleLine: scaleLine, print: print)
        }
        let topology: ReplayTopology
        if !direct, let launcher {
            topology = .proxied(launcher)
        } else {
            topology = .direct
        }
        print(scaleLine + "; topology \(topology.name)"
            + (direct || launcher != nil ? "" : " (the proxy is not wired into the harness yet; running direct)"))
        var work: [(label: String, scenario: Scenario, name: String?, scale: Double)] = []
        for scenario in scenarios {
            let scale = timeScale ?? ReplayTimeScale.automatic(for: scenario)
            for run in ReplayRuns.expand(scenario) {
                work.append((run.label, run.scenario, run.name, scale))
            }
        }
        var results: [ReplayResult] = []
        var tally = Tally()
        await withTaskGroup(of: (ReplayResult?, String).self) { group in
            var next = 0
            func add() {
                guard next < work.count else { return }
                let item = work[next]
                next += 1
                group.addTask {
                    do {
                        let result = try await ReplayRunner.run(
                            item.scenario,
                            options: ReplayOptions(timeScale: item.scale, topology: topology, runName: item.name))
                        return (result, "")
                    } catch {
                        return (nil, "FAIL \(item.label): the run could not happen: \(error)")
                    }
                }
            }
            for _ in 0..<jobs { add() }
            for await (result, failure) in group {
                tally.runs += 1
                if let result {
                    results.append(result)
                    print(result.verdictLine)
                    if result.verdict == .pass {
                        tally.passed += 1
                    } else {
                        tally.failed += 1
                        if result.isUnchecked { tally.unchecked += 1 }
                        print(result.details)
                    }
                } else {
                    tally.failed += 1
                    print(failure)
                }
                add()
            }
        }
        print(tally.line(files: scenarios.count))
        if let htmlPath, !writeReport(results, to: htmlPath, print: print) { return 2 }
        return tally.failed > 0 ? 1 : 0
    }

    private func runCompare(_ scenarios: [Scenario], scaleLine: String, print: @escaping @Sendable (String) -> Void) async
        -> Int32
    {
        guard let launcher, !direct else {
            print("--compare runs each scenario through the proxy with and without the heartbeat, but "
                + (direct ? "--direct was given" : "the proxy is not wired into the harness yet")
                + "; run without --compare for direct verdicts")
            return 2
        }
        print(scaleLine + "; comparing each scenario through the proxy with and without the heartbeat")
        var results: [ReplayResult] = []
        var stillWaiting = false
        var broken = false
        let timeScale = self.timeScale
        // Files go `jobs` at a time; each table is printed whole, as soon as its file is done.
        await withTaskGroup(of: (CompareRunner.Result?, String).self) { group in
            var next = 0
            func add() {
                guard next < scenarios.count else { return }
                let scenario = scenarios[next]
                next += 1
                group.addTask {
                    do {
                        let scale = timeScale ?? ReplayTimeScale.automatic(for: scenario)
                        return (try await CompareRunner.run(scenario, launcher: launcher, timeScale: scale), "")
                    } catch {
                        return (nil, "ERROR \(scenario.name): the run failed: \(error)")
                    }
                }
            }
            for _ in 0..<jobs { add() }
            for await (compared, failure) in group {
                if let compared {
                    compared.lines.forEach(print)
                    results += [compared.withoutRun, compared.withRun]
                    stillWaiting = stillWaiting || compared.leavesAClientWaiting
                } else {
                    print(failure)
                    broken = true
                }
                add()
            }
        }
        if broken { return 2 }
        if let htmlPath, !writeReport(results, to: htmlPath, print: print) { return 2 }
        return stillWaiting ? 1 : 0
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
