import DurationMath
import FakeUpstream
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import SeededRandom
import Wire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the soak has counted so far, shared by the clients and the progress line.
struct SoakTally: Sendable {
    var requests = 0
    /// Requests per fault played (`reset`, `client disconnect`, `crash`, …); healthy exchanges are not counted.
    var faults: [String: Int] = [:]
    var mismatches = 0
    var hungUp = 0

    var faultTotal: Int { faults.values.reduce(0, +) }

    /// `reset 12, slow load 9, …`, largest first.
    var faultLine: String {
        faults.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
}

/// One soak client: sends one exchange at a time to the proxy, each a seeded choice from the mix, judges it, and
/// now and then crashes its idle model and sends the same run again.
struct SoakClient: Sendable {
    var number: Int
    var cases: [SoakCase]
    var port: Int
    var token: String
    var http: SoakHTTP
    var tally: NIOLockedValueBox<SoakTally>
    var print: @Sendable (String) -> Void
    /// Test seam: changes the client's reads before they are judged (a planted fault: the judge must see it).
    var tamper: (@Sendable ([ReplayAttempt]) -> [ReplayAttempt])?
    /// How many mismatch reports are printed in full; later ones get their first line only.
    var fullReports: Int
    /// ``SoakSession/timingScale``: stretches the hang-up's close bound (the cases' scales already carry it).
    var timingScale: Double

    /// Added to the client's head and first-byte timers of runs that do not expect a time-out (see `exchange`).
    static let modelStartAllowance: Duration = .seconds(10)

    /// The chance that a judged exchange is followed by a crash of its model and the same run again.
    static let crashChance = 0.1

    /// Sends exchanges until `until`, choices drawn from `random`.
    func run(until end: ContinuousClock.Instant, random: inout SplitMix64) async {
        var last: Int?
        while ContinuousClock.now < end {
            var index = random.nextIndex(below: cases.count)
            if index == last { index = (index + 1 + random.nextIndex(below: cases.count - 1)) % cases.count }
            last = index
            let soakCase = cases[index]
            let model = SoakProxyConfig.modelID(client: number, caseIndex: index)
            let unit = random.nextUnit()
            let modelRan = await exchange(soakCase, model: model, hangUpAt: unit, fault: soakCase.fault)
            let crash = random.nextUnit() < Self.crashChance
            if crash, modelRan, soakCase.kind == .judged, ContinuousClock.now < end {
                if await self.crash(model: model) {
                    _ = await exchange(soakCase, model: model, hangUpAt: unit, fault: "crash")
                }
            }
        }
    }

    /// One exchange, judged; returns whether the model still ran afterwards (its journal was read).
    func exchange(_ soakCase: SoakCase, model: String, hangUpAt unit: Double, fault: String?) async -> Bool {
        let scale = soakCase.timeScale
        let spec = soakCase.scenario.spec ?? ScenarioSpec()
        let baseProfile = ClientProfiles.resolve(spec.profile)
        let bound = RunBound.realTime(soakCase.scenario, spec: spec, profile: baseProfile, scale: scale)
        var profile = baseProfile.scaled(by: scale)
        if spec.expect?.client != .timesOut {
            // The scenario's clock starts when the model's process is up, which replay's does not wait for; the
            // client's head timers start at its send. Runs that do not expect the client to time out get the
            // process start on top of those timers (a run at 0.01 has undici's 300 s head timer as 3 s: a model
            // started 1.1 s late on a machine at load average 16 made it fire). Their gap, heartbeat and `at`
            // checks still hold the proxy to the scenario's times.
            profile.headersTimeout = profile.headersTimeout.map { $0 + Self.modelStartAllowance }
            profile.firstByteTimeout = profile.firstByteTimeout.map { $0 + Self.modelStartAllowance }
        }
        if soakCase.kind == .disconnect {
            let hangUp = Self.responseLength(soakCase.scenario).scaled(by: scale) * (0.1 + 0.8 * unit)
            profile.totalTimeout = min(profile.totalTimeout ?? hangUp, hangUp)
            profile.name += " hanging up at \(TimeText.seconds(hangUp))"
        }
        let request = spec.request ?? ClientRequestSpec()
        var sent = request
        sent.body = Self.body(request.body ?? ClientRequestSpec.defaultBody(model: soakCase.scenario.model), model: model)
        let bytes = ReplayRunner.requestBytes(sent, host: "127.0.0.1:\(port)", model: model)

        var attempts: [ReplayAttempt] = []
        let runDeadline = ContinuousClock.now + bound
        do {
            for retry in 0...profile.retries {
                if retry > 0 { try await Task.sleep(for: profile.delay(beforeRetry: retry)) }
                let attempt = try await http.client.attempt(
                    host: "127.0.0.1", port: port, request: bytes, method: request.method, profile: profile,
                    limit: max(.zero, runDeadline - ContinuousClock.now))
                attempts.append(attempt)
                guard case .timedOut = attempt.end else { break }
            }
        } catch {
            record(fault: fault, mismatch: "FAIL \(soakCase.label): the request could not be sent: \(error)", hungUp: false)
            return false
        }
        if let tamper { attempts = tamper(attempts) }
        let hungUp: Bool
        if soakCase.kind == .disconnect, case .timedOut(.total)? = attempts.last?.end { hungUp = true } else { hungUp = false }

        let clocked = await clockedJournal(of: model)
        let modelStart = clocked.map { max(.zero, Duration.nanoseconds(($0.originHigh - (attempts.first?.sentAt ?? $0.originHigh)).nanoseconds)) } ?? .zero
        let verdict: SoakJudge.Verdict
        if hungUp, let hangUp = attempts.last?.clientClosedAt, let clocked {
            let (journal, delay, connections) = await upstreamClose(
                of: model, request: request, scenario: soakCase.scenario, after: hangUp, clocked: clocked)
            var result = SoakJudge.assemble(
                soakCase, profile: profile, attempts: attempts, journal: journal, origin: clocked.originLow,
                modelStart: modelStart, bound: bound)
            result.scenario = "client \(number) \(model) " + result.scenario
            verdict = SoakJudge.hungUp(result, closeCheck: SoakJudge.closeCheck(delay: delay, connections: connections, timingScale: timingScale))
        } else {
            var result = SoakJudge.assemble(
                soakCase, profile: profile, attempts: attempts, journal: clocked?.journal, origin: clocked?.originLow,
                modelStart: modelStart, bound: bound)
            result.scenario = "client \(number) \(model) " + result.scenario
            if modelStart > .zero {
                result.scenario += " (model start \(TimeText.seconds(modelStart)) allowed)"
            }
            verdict = SoakJudge.judged(
                result, journalMissing: clocked == nil, neverHealthy: SoakJudge.neverHealthy(soakCase.scenario))
        }
        record(fault: fault, mismatch: verdict.mismatch, hungUp: verdict.hungUp)
        return clocked != nil
    }

    /// Counts the exchange and prints its mismatch, if any.
    private func record(fault: String?, mismatch: String?, hungUp: Bool) {
        let count = tally.withLockedValue { tally -> Int in
            tally.requests += 1
            if let fault { tally.faults[fault, default: 0] += 1 }
            if hungUp { tally.hungUp += 1 }
            if mismatch != nil { tally.mismatches += 1 }
            return tally.mismatches
        }
        if let mismatch {
            print("MISMATCH " + (count <= fullReports ? mismatch : String(mismatch.prefix { $0 != "\n" })))
        }
    }

    /// The model's journal, with its clock placed on ours, once its load has settled: waits (at most 20 s) while
    /// `/running` says it is starting; `nil` when it is not running (its load failed and the proxy stopped it).
    private func clockedJournal(of model: String) async -> SoakHTTP.ClockedJournal? {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            guard let rows = try? await http.running(port: port) else { return nil }
            guard let row = rows.first(where: { $0.model == model }) else { return nil }
            if row.state == "ready" { return try? await http.clockedJournal(model: model, port: port) }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// Waits (reading the journal again, at most 3 s) until every upstream connection that carried the request is
    /// closed; returns the last journal, an upper bound of how long after `hangUp` the last of them closed (from
    /// its close time on the fake's clock and the latest possible start of that clock; `nil` if one is still
    /// open), and how many carried the request. When the bound is over the limit only because the clock probe was
    /// slow, the probe is repeated (at most 3 times): each narrows where the fake's clock can start.
    private func upstreamClose(
        of model: String, request: ClientRequestSpec, scenario: Scenario, after hangUp: NIODeadline,
        clocked: SoakHTTP.ClockedJournal
    ) async -> (JournalSnapshot, Duration?, Int) {
        let path = ReplayRunner.upstreamPath(request.path, model: scenario.model)
        var journal = clocked.journal
        var originHigh = clocked.originHigh
        var originLow = clocked.originLow
        let waitUntil = NIODeadline.now() + .seconds(3)
        var probes = 0
        while true {
            let connections = journal.connections.filter { connection in
                connection.requests.contains { $0.path == path && $0.method == request.method }
            }
            let closes = connections.map { $0.peerClose?.at ?? $0.closedAt }
            if connections.isEmpty { return (journal, nil, 0) }
            if closes.allSatisfy({ $0 != nil }) {
                let last = closes.compactMap { $0 }.max()!
                let upper = Duration.nanoseconds((originHigh + .nanoseconds(last) - hangUp).nanoseconds)
                let lower = Duration.nanoseconds((originLow + .nanoseconds(last) - hangUp).nanoseconds)
                let limit = SoakJudge.closeBound(timingScale: timingScale)
                guard upper > limit, lower <= limit, probes < 3,
                    let again = try? await http.clockedJournal(model: model, port: port)
                else { return (journal, max(.zero, upper), connections.count) }
                probes += 1
                journal = again.journal
                originHigh = min(originHigh, again.originHigh)
                originLow = max(originLow, again.originLow)
                continue
            }
            if NIODeadline.now() > waitUntil { return (journal, nil, connections.count) }
            try? await Task.sleep(for: .milliseconds(50))
            guard let again = try? await http.journal(model: model, port: port) else {
                return (journal, nil, connections.count)
            }
            journal = again
        }
    }

    /// Kills the model's process (SIGKILL) and waits until the proxy no longer lists it as ready (at most 5 s);
    /// returns whether the same run should now be sent again (a mismatch is recorded otherwise).
    private func crash(model: String) async -> Bool {
        guard let pid = Self.process(marked: "\(token)/\(model)") else {
            record(fault: "crash", mismatch: "FAIL crash \(model): no process carries its marker, though it was ready", hungUp: false)
            return false
        }
        kill(pid, SIGKILL)
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let rows = try? await http.running(port: port), !rows.contains(where: { $0.model == model && $0.state == "ready" }) {
                return true
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        record(
            fault: "crash",
            mismatch: "FAIL crash \(model): its process (pid \(pid)) was killed, and the proxy still lists it as ready 5 s later",
            hungUp: false)
        return false
    }

    /// The process whose environment has `LLAMA_SOAK_MODEL=<marker>`, from `/proc`.
    static func process(marked marker: String) -> Int32? {
        let wanted = Array("\(SoakProxyConfig.markerVariable)=\(marker)".utf8)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
            else { continue }
            if data.split(separator: 0).contains(where: { $0.elementsEqual(wanted) }) { return pid }
        }
        return nil
    }

    /// How long the response takes in scenario time, for choosing when to hang up: its longest scripted response
    /// plus its health script's load, or, for a response that never ends on its own (`end: hang`), the proxy's
    /// response-header timeout.
    static func responseLength(_ scenario: Scenario) -> Duration {
        let script = scenario.rules.flatMap(\.responses).map { RunBound.scriptedLength($0.steps) }.max() ?? .zero
        let load = scenario.health.repeats ? .zero : scenario.health.states.compactMap(\.duration).reduce(.zero, +)
        let candidates = [script + load > .zero ? script + load : nil, scenario.spec?.proxy?.responseHeaderTimeout]
        return candidates.compactMap { $0 }.min() ?? .seconds(1)
    }

    /// The request body with its `model` set to the soak's model id (the proxy routes by it); other bytes as given.
    static func body(_ body: [UInt8], model: String) -> [UInt8] {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return body }
        object["model"] = model
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return body }
        return Array(data)
    }
}
