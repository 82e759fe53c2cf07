import DurationMath
import FakeUpstream
import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import SeededRandom
import Wire

/// `harness soak` as a library call: the scenario library's faults through the real `llama-proxy` under
/// concurrent load, every exchange judged, the proxy's fds, RSS and threads compared before and after.
///
/// The run, in order:
/// 1. The mix (`SoakLibrary`) and a config of one `harness serve` model per client and case (`SoakProxyConfig`);
///    `llama-proxy` starts as a child with that config (`SoakProxyProcess`).
/// 2. **Warm-up** (the first tenth of `duration`, 3 s to 60 s): the clients run as in the main phase, judged
///    and counted, so the proxy's pools, threads and allocator reach their working size.
/// 3. **Quiet** (`quiesce`): the clients have finished, every model is unloaded, the counts settle. The proxy's
///    stats are taken: the start.
/// 4. **Main phase** (the rest of `duration`): `clients` clients, each sending one exchange at a time, chosen by
///    a seeded generator (`SplitMix64(seed)`, one stream per client and phase); a progress line every
///    `progressInterval`.
/// 5. **Quiet** again, stats again: the end. Flat (`SoakFlatness`): fds and threads no more than at the start,
///    RSS within a fixed bound.
///
/// Bounded: a client starts no exchange after its phase's end. Each exchange is watched up to its run's replay
/// bound (`RunBound`: every timer of the client profile, so minutes for undici's 300 s, scaled), but is expected to
/// end far sooner (the longest, never-ready, takes 15 s; its journal reads at most 20 s more; a crash wait 5 s).
/// A phase that has not drained `drainBound` (90 s) after its end is cut: the proxy is stopped (which ends every
/// exchange), and the run fails: the proxy kept a client waiting long past any scenario's end. So a run ends by
/// `duration` + 2 × `drainBound` + quiet time (≤ 2 × 40 s) + the proxy's start and stop (≤ 45 s), whatever the
/// proxy does: under 6 minutes for the 60 s run (CI's limit for the step is 600 s).
///
/// Exit code: 0 when every exchange matched and the stats are flat, 1 otherwise (mismatches, not flat, no exchange
/// at all, a phase that did not drain, the proxy dying), 2 when the soak could not start.
public struct SoakSession: Sendable {
    public var clients: Int
    public var duration: Duration
    public var seed: UInt64
    /// The repository's `Scenarios/` directory.
    public var scenarios: String
    /// The `llama-proxy` executable.
    public var proxyExecutable: String
    /// The `harness` executable (the models' `cmd`).
    public var harnessExecutable: String
    public var progressInterval: Duration
    /// The mix; `SoakLibrary.entries` by default.
    public var entries: [SoakLibrary.Entry]
    /// Test seam: changes each exchange's reads before they are judged (a planted fault).
    public var tamper: (@Sendable ([ReplayAttempt]) -> [ReplayAttempt])?
    /// Mismatch reports printed in full (with expectations and timeline); the rest get one line.
    public var fullReports = 5
    /// On SIGINT or SIGTERM, stop the proxy (it stops its models) and exit 1, so that an interrupted soak leaves no
    /// process behind. The command sets it; tests do not (the handlers are process-wide).
    public var handlesSignals = false
    /// How much the real-time bounds stretch because everything runs slower on purpose: a sanitizer build, where
    /// the tests pass their `TEST_TIMING_SCALE` (under ThreadSanitizer, CI once saw three streams of one soak fall
    /// silent together and resume at the same moment, 0.3–0.7 s past their 1.6 s heartbeat bounds with 400 ms
    /// slack). Every case's time scale, the proxy's health-check timeout and the hang-up's close bound stretch by
    /// it, so each timing bound keeps its share of slack (at most a quarter of the bound) rather than getting more
    /// slack than it bounds. 1 for the command.
    public var timingScale: Double = 1

    /// `cases` with their time scales stretched by `timingScale` (``timingScale``; below 1 counts as 1).
    static func slowed(_ cases: [SoakCase], by timingScale: Double) -> [SoakCase] {
        cases.map { soakCase in
            var soakCase = soakCase
            soakCase.timeScale *= max(1, timingScale)
            return soakCase
        }
    }

    /// How long after its end a phase may take to drain.
    public static let drainBound: Duration = .seconds(90)

    public init(
        clients: Int, duration: Duration, seed: UInt64 = 1, scenarios: String, proxyExecutable: String,
        harnessExecutable: String, progressInterval: Duration = .seconds(10),
        entries: [SoakLibrary.Entry] = SoakLibrary.entries,
        tamper: (@Sendable ([ReplayAttempt]) -> [ReplayAttempt])? = nil
    ) {
        self.clients = max(1, clients)
        self.duration = duration
        self.seed = seed
        self.scenarios = scenarios
        self.proxyExecutable = proxyExecutable
        self.harnessExecutable = harnessExecutable
        self.progressInterval = progressInterval
        self.entries = entries
        self.tamper = tamper
    }

    /// The warm-up's share of `duration`: a tenth, at least 3 s (or half of a shorter run), at most 60 s.
    public var warmUp: Duration {
        min(.seconds(60), max(min(.seconds(3), duration / 2), duration / 10))
    }

    /// What a run found, for the summary and for tests.
    public struct Outcome: Sendable {
        public var requests: Int
        public var faults: Int
        public var faultLine: String
        public var mismatches: Int
        public var flatness: SoakFlatness?
        public var problems: [String]
        public var exitCode: Int32
    }

    /// Runs the soak, printing through `print`; returns the outcome (its `exitCode` is the command's).
    public func run(print: @escaping @Sendable (String) -> Void) async -> Outcome {
        func failed(_ message: String) -> Outcome {
            print("error: \(message)")
            return Outcome(
                requests: 0, faults: 0, faultLine: "", mismatches: 0, flatness: nil, problems: [message], exitCode: 2)
        }
        let cases: [SoakCase]
        // Absolute: the models' `cmd` names the files, and the proxy's children need not share our directory.
        let scenarios = URL(fileURLWithPath: self.scenarios).standardizedFileURL.path
        do {
            cases = Self.slowed(try SoakLibrary.cases(directory: scenarios, entries: entries), by: timingScale)
        } catch {
            return failed("\(error)")
        }
        for path in [proxyExecutable, harnessExecutable] where !FileManager.default.isExecutableFile(atPath: path) {
            return failed("\(path) is not an executable (build the package first: swift build)")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("soak-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            return failed("cannot create \(directory.path): \(error)")
        }
        let token = String(UUID().uuidString.prefix(8))
        let configPath = directory.appendingPathComponent("config.yaml").path
        // Model ports from `startPort` up, below Linux's ephemeral range (32768) so no outgoing connection takes
        // one; spread by pid so two soaks on one machine rarely overlap (the proxy moves a model off a busy port).
        let startPort = 20_000 + Int(getpid() % 50) * (cases.count * clients + 10)
        let config = SoakProxyConfig.yaml(
            cases: cases, clients: clients, harness: harnessExecutable, startPort: min(startPort, 32_000 - cases.count * clients),
            token: token, timingScale: max(1, timingScale))
        do {
            try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        } catch {
            return failed("cannot write \(configPath): \(error)")
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { group.shutdownGracefully { _ in } }
        let http = SoakHTTP(client: ReplayClient(group: group))
        let proxy: SoakProxyProcess
        do {
            proxy = try await SoakProxyProcess.start(
                executable: proxyExecutable, config: configPath, port: try SoakProxyProcess.freePort(),
                logPath: directory.appendingPathComponent("llama-proxy.log").path, http: http)
        } catch {
            return failed("\(error)")
        }
        let longest = cases.map { soakCase in
            let spec = soakCase.scenario.spec ?? ScenarioSpec()
            return RunBound.realTime(
                soakCase.scenario, spec: spec, profile: ClientProfiles.resolve(spec.profile), scale: soakCase.timeScale)
        }.max() ?? .zero
        print(
            "soak: \(clients) clients, \(TimeText.seconds(duration)) (warm-up \(TimeText.seconds(warmUp))), seed \(seed); "
                + "\(cases.count) runs from \(scenarios), \(cases.filter { $0.fault != nil }.count) of them faults, "
                + "plus crashes (\(Int(SoakClient.crashChance * 100)) % of judged exchanges)"
                + (timingScale > 1 ? "; time scales ×\(timingScale) (a slowed build)" : ""))
        print(
            "soak: llama-proxy pid \(proxy.pid) on 127.0.0.1:\(proxy.port), config \(configPath); each exchange is "
                + "watched up to its run's replay bound (at most \(TimeText.seconds(longest))), each phase must drain "
                + "within \(TimeText.seconds(Self.drainBound)) of its end (the longest expected exchange, never-ready, "
                + "takes 15 s) or the run fails")
        let signals = handlesSignals ? Self.stopOnSignal(proxy: proxy, print: print) : []
        defer { signals.forEach { $0.cancel() } }

        let tally = NIOLockedValueBox(SoakTally())
        let started = ContinuousClock.now
        var problems: [String] = []
        let reporter = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: progressInterval)
                if Task.isCancelled { break }
                let now = tally.withLockedValue { $0 }
                let stats = ProcessStats.read(pid: proxy.pid).map(\.line) ?? "proxy not running"
                print(
                    "soak \(TimeText.seconds(ContinuousClock.now - started)): requests \(now.requests), faults "
                        + "\(now.faultTotal), mismatches \(now.mismatches); proxy \(stats)")
            }
        }
        defer { reporter.cancel() }

        // Warm-up, quiet, start.
        if !(await phase(0, length: warmUp, cases: cases, proxy: proxy, http: http, token: token, tally: tally, print: print)) {
            problems.append("the warm-up did not drain within \(TimeText.seconds(Self.drainBound))")
        }
        let start = await quiesce(proxy: proxy, http: http, reference: nil)
        if let start { print("soak: start (after warm-up, idle): \(start.line)") }
        // Main phase, quiet, end.
        if problems.isEmpty,
            !(await phase(1, length: duration - warmUp, cases: cases, proxy: proxy, http: http, token: token, tally: tally, print: print))
        {
            problems.append("the main phase did not drain within \(TimeText.seconds(Self.drainBound))")
        }
        let end = await quiesce(proxy: proxy, http: http, reference: start)
        if let end { print("soak: end (idle): \(end.line)") }
        reporter.cancel()
        let alive = proxy.isRunning
        let exit = await proxy.stop()

        let final = tally.withLockedValue { $0 }
        var flatness: SoakFlatness?
        if let start, let end {
            flatness = SoakFlatness(start: start, end: end)
            problems += flatness!.problems
        } else {
            problems.append("the proxy's stats could not be read (\(alive ? "no /proc?" : "the proxy is gone"))")
        }
        if !alive { problems.append("llama-proxy died during the soak (\(exit))") }
        if final.requests == 0 { problems.append("no exchange was made") }
        if final.mismatches > 0 { problems.append("\(final.mismatches) mismatches") }
        print(
            "soak: \(final.requests) requests in \(TimeText.seconds(ContinuousClock.now - started)), faults "
                + "\(final.faultTotal) (\(final.faultLine)), of them \(final.hungUp) client hang-ups checked; "
                + "mismatches \(final.mismatches)")
        if let flatness { print("soak: proxy \(flatness.line)") }
        print("soak: llama-proxy \(exit)")
        if problems.isEmpty {
            print("soak: PASS")
            try? FileManager.default.removeItem(at: directory)
        } else {
            print("soak: FAIL: " + problems.joined(separator: "; "))
            print("soak: proxy log kept at \(proxy.logPath); its last lines:\n" + proxy.logTail())
        }
        return Outcome(
            requests: final.requests, faults: final.faultTotal, faultLine: final.faultLine,
            mismatches: final.mismatches, flatness: flatness, problems: problems, exitCode: problems.isEmpty ? 0 : 1)
    }

    /// Runs the clients for `length`; returns whether they all finished within `drainBound` after it (if not, the
    /// proxy is stopped, which ends their exchanges, and they are awaited).
    private func phase(
        _ number: UInt64, length: Duration, cases: [SoakCase], proxy: SoakProxyProcess, http: SoakHTTP, token: String,
        tally: NIOLockedValueBox<SoakTally>, print: @escaping @Sendable (String) -> Void
    ) async -> Bool {
        let end = ContinuousClock.now + length
        let done = NIOLockedValueBox(0)
        let clients = (1...self.clients).map { number in
            SoakClient(
                number: number, cases: cases, port: proxy.port, token: token, http: http, tally: tally, print: print,
                tamper: tamper, fullReports: fullReports, timingScale: max(1, timingScale))
        }
        let seed = self.seed
        let work = Task {
            await withTaskGroup(of: Void.self) { group in
                for client in clients {
                    group.addTask {
                        // One stream per client and phase: the choices do not depend on timing.
                        var random = SplitMix64(
                            seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(client.number) &* 0xBF58_476D_1CE4_E5B9
                                &+ number &* 0x94D0_49BB_1331_11EB)
                        await client.run(until: end, random: &random)
                        done.withLockedValue { $0 += 1 }
                    }
                }
            }
        }
        let cut = end + Self.drainBound
        while done.withLockedValue({ $0 }) < clients.count {
            if ContinuousClock.now > cut {
                print("soak: clients still busy \(TimeText.seconds(Self.drainBound)) after the phase's end; stopping the proxy")
                _ = await proxy.stop()
                await work.value
                return false
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        await work.value
        return true
    }

    /// SIGINT and SIGTERM: stop the proxy (SIGTERM, at most 15 s), then exit 1.
    private static func stopOnSignal(proxy: SoakProxyProcess, print: @escaping @Sendable (String) -> Void)
        -> [any DispatchSourceSignal]
    {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                print("soak: interrupted (signal \(number)); stopping llama-proxy")
                Task {
                    _ = await proxy.stop()
                    exit(1)
                }
            }
            source.resume()
            return source
        }
    }

    /// Unloads every model, waits until none runs (at most 30 s), then lets the proxy's counts settle: until its
    /// fds are at most `reference`'s (the end) or unchanged over 1 s (the start), at most 10 s. `nil` if the
    /// stats cannot be read.
    private func quiesce(proxy: SoakProxyProcess, http: SoakHTTP, reference: ProcessStats?) async -> ProcessStats? {
        _ = try? await http.request("POST", "/unload", port: proxy.port, limit: .seconds(30))
        let unloaded = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < unloaded {
            if let rows = try? await http.running(port: proxy.port), rows.isEmpty { break }
            try? await Task.sleep(for: .milliseconds(100))
        }
        let settle = ContinuousClock.now + .seconds(10)
        var previous = ProcessStats.read(pid: proxy.pid)
        var steady = 0
        while ContinuousClock.now < settle {
            try? await Task.sleep(for: .milliseconds(250))
            guard let now = ProcessStats.read(pid: proxy.pid) else { return nil }
            if let reference, now.fileDescriptors <= reference.fileDescriptors, now.threads <= reference.threads {
                return now
            }
            steady = now.fileDescriptors == previous?.fileDescriptors && now.threads == previous?.threads ? steady + 1 : 0
            previous = now
            if reference == nil && steady >= 4 { return now }
        }
        return ProcessStats.read(pid: proxy.pid)
    }
}
