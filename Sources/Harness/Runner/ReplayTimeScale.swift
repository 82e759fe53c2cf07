import FakeUpstream

/// The time scale a scenario file is replayed at when none is given: the same rule whatever the number of
/// files, so one file and a directory give the same verdicts.
///
/// Timing checks get real slack for a loaded machine (scheduling delays on 2 busy cores reach 100–200 ms), and
/// that slack may never exceed a quarter of the scaled bound it widens. So the file's shortest timing bound (a
/// heartbeat interval or a gap bound, in any of its runs) is scaled to at least `shortestBound` of real time;
/// files without one run at `fastest`.
public enum ReplayTimeScale {
    /// The real time the shortest timing bound of a file takes: a quarter of it covers `ReplayOptions.defaultSlack`.
    public static let shortestBound: Duration = .milliseconds(800)
    /// The scale of files with no timing bound: 95 s of scenario time take 0.95 s.
    public static let fastest = 0.01
    /// The largest scale chosen: a file whose bounds are a few hundred milliseconds runs slower than real time,
    /// up to this factor, rather than with slack it cannot afford.
    public static let slowest = 10.0

    /// The scale for `scenario` (all its runs).
    public static func automatic(for scenario: Scenario) -> Double {
        guard let shortest = timingBounds(of: scenario).min(), shortest > .zero else { return fastest }
        let scale = shortestBound / shortest
        return min(slowest, max(fastest, (scale * 10_000).rounded(.up) / 10_000))
    }

    /// Every heartbeat interval and gap bound of the file's runs, in scenario time.
    public static func timingBounds(of scenario: Scenario) -> [Duration] {
        ReplayRuns.expand(scenario).flatMap { run -> [Duration] in
            let spec = run.scenario.spec
            let interval = spec?.proxy?.heartbeatInterval.flatMap { $0 > .zero ? $0 : nil }
            return [interval, spec?.expect?.gaps?.max, spec?.expect?.gaps?.min].compactMap { $0 }
        }
    }

    /// How the automatic choice is described in the first line of `harness replay`.
    public static let summary =
        "time scale automatic per file: its shortest heartbeat interval or gap bound takes "
        + "\(TimeText.seconds(shortestBound)), files without one run at \(fastest); --time-scale overrides"
}
