import FakeUpstream
import Foundation

/// `--compare`: runs a scenario through the proxy with and without the heartbeat, and says for every client
/// profile whether it would time out in each case: the "does the heartbeat save my client?" table.
///
/// Each side is one live run with a patient client (it outwaits every profile's longest timer); each profile is
/// then applied to what that client saw with `ProfileEvaluator`, so one pair of runs answers for all profiles.
public enum CompareRunner {
    /// The interval used for the "with heartbeat" side when the scenario sets none (scenario time).
    public static let defaultHeartbeatInterval: Duration = .seconds(10)

    /// One profile's verdicts.
    public struct Row: Sendable {
        /// The profile (unscaled).
        public var profile: ClientProfile
        /// Its verdict with the heartbeat off.
        public var without: ProfileVerdict
        /// Its verdict with the heartbeat on.
        public var with: ProfileVerdict
        /// Whether the run with the heartbeat ended in an in-band error event (the proxy's or the upstream's): a
        /// client that completes then got an error, not an answer.
        public var withEndsInError: Bool

        /// A row.
        public init(profile: ClientProfile, without: ProfileVerdict, with: ProfileVerdict, withEndsInError: Bool = false) {
            self.profile = profile
            self.without = without
            self.with = with
            self.withEndsInError = withEndsInError
        }

        /// Whether the heartbeat turns a time-out into a complete answer. A client still waiting when the run ends
        /// is not saved (the proxy kept it waiting with nothing to show: a failure of the proxy), and neither is one
        /// that completes with an in-band error (it gets an error instead of a time-out; the table says so).
        public var heartbeatSavesIt: Bool {
            without.outcome.kind == "times-out" && with.outcome.kind == "completes" && !withEndsInError
        }

        /// Whether the heartbeat turns a time-out into an in-band error the client can read.
        public var heartbeatTurnsItIntoAnError: Bool {
            without.outcome.kind == "times-out" && with.outcome.kind == "completes" && withEndsInError
        }

        /// Whether either side left this client waiting until the run's end.
        public var leftWaiting: Bool {
            without.outcome.kind == "undecided" || with.outcome.kind == "undecided"
        }
    }

    /// Both runs and the table.
    public struct Result: Sendable {
        /// The scenario's name.
        public var scenario: String
        /// The heartbeat interval of the "with" side (scenario time).
        public var heartbeatInterval: Duration
        /// The run's time scale.
        public var timeScale: Double
        /// One row per profile.
        public var rows: [Row]
        /// The run with the heartbeat off.
        public var withoutRun: ReplayResult
        /// The run with the heartbeat on.
        public var withRun: ReplayResult

        /// Whether some profile was left waiting until the end of a run (a failure of the proxy).
        public var leavesAClientWaiting: Bool { rows.contains(where: \.leftWaiting) }

        /// The table as text.
        public var lines: [String] {
            let pad = { (text: String, width: Int) in text.padding(toLength: max(width, text.count), withPad: " ", startingAt: 0) }
            var out = [
                "\(scenario): heartbeat every \(TimeText.seconds(heartbeatInterval)) (scenario time); scale \(timeScale), "
                    + "times below are real seconds",
                "  " + pad("profile", 15) + pad("without heartbeat", 50) + "with heartbeat",
            ]
            for row in rows {
                let note =
                    row.leftWaiting
                    ? "   <- FAIL: still waiting when the run ended; the proxy never ended the exchange"
                    : row.heartbeatSavesIt ? "   <- saved by the heartbeat"
                    : row.heartbeatTurnsItIntoAnError ? "   <- an in-band error instead of a time-out" : ""
                out.append(
                    "  " + pad(row.profile.name, 15) + pad(Self.describe(row.without), 50) + Self.describe(row.with)
                        + note)
            }
            return out
        }

        static func describe(_ verdict: ProfileVerdict) -> String {
            verdict.outcome.description + (verdict.attempts > 1 ? " after \(verdict.attempts) attempts" : "")
        }
    }

    /// Compares `scenario` with and without the heartbeat through `launcher`, for `profiles`.
    public static func run(
        _ scenario: Scenario, launcher: any ProxyLauncher, timeScale: Double,
        profiles: [ClientProfile] = ClientProfiles.all, slack: Duration = .milliseconds(150)
    ) async throws -> Result {
        let settings = scenario.spec?.proxy ?? ProxySettingsSpec()
        var withSettings = settings
        if (withSettings.heartbeatInterval ?? .zero) <= .zero {
            withSettings.heartbeatInterval = defaultHeartbeatInterval
        }
        var withoutSettings = settings
        withoutSettings.heartbeatInterval = .zero
        let silence = scenario.rules.flatMap(\.responses).map { RunBound.scriptedLength($0.steps) }.max() ?? .zero
        let patient = patientProfile(outwaiting: profiles, silence: silence)
        func options(_ proxy: ProxySettingsSpec) -> ReplayOptions {
            ReplayOptions(
                timeScale: timeScale, topology: .proxied(launcher), profile: patient, proxySettings: proxy,
                slack: slack)
        }
        // The file's expectations describe its own profile and settings, not these runs: report, don't judge.
        var unjudged = scenario
        unjudged.spec?.expect = nil
        var withoutRun = try await ReplayRunner.run(unjudged, options: options(withoutSettings))
        withoutRun.scenario += " (heartbeat off)"
        var withRun = try await ReplayRunner.run(unjudged, options: options(withSettings))
        withRun.scenario += " (heartbeat on)"
        let rows = profiles.map { profile in
            let scaled = profile.scaled(by: timeScale)
            return Row(
                profile: profile, without: verdict(scaled, withoutRun), with: verdict(scaled, withRun),
                withEndsInError: withRun.facts.inBandError)
        }
        return Result(
            scenario: scenario.name, heartbeatInterval: withSettings.heartbeatInterval ?? defaultHeartbeatInterval,
            timeScale: timeScale, rows: rows, withoutRun: withoutRun, withRun: withRun)
    }

    /// A client that waits out every profile, and the scenario's longest scripted response (`silence`): silent
    /// for longer than both, it stops; by then each profile has decided, and a profile without a timer left (a
    /// Cloudflare client that saw its first byte) is not cut off while the script still has bytes to send.
    public static func patientProfile(outwaiting profiles: [ClientProfile], silence: Duration = .zero) -> ClientProfile {
        let longest = max(profiles.compactMap(\.longestTimer).max() ?? .seconds(600), silence)
        return ClientProfile(
            name: "patient", summary: "waits out every compared profile", readTimeout: longest * 1.05 + .seconds(1))
    }

    static func verdict(_ profile: ClientProfile, _ run: ReplayResult) -> ProfileVerdict {
        guard let first = run.attemptTimelines.first else {
            return ProfileVerdict(outcome: .undecided(at: .zero), attempts: 0)
        }
        return ProfileEvaluator.evaluate(profile, on: first)
    }
}
