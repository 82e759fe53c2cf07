/// One expectation's result: what the file said, what happened, and whether that passes.
public struct ExpectationResult: Sendable, Hashable {
    /// Pass, fail, or not checked (and why).
    public enum Status: Sendable, Hashable {
        /// Reality matched.
        case passed
        /// Reality differed.
        case failed
        /// Not checked in this run, e.g. because it needs the proxy and the run was direct.
        case skipped(String)
    }

    /// The `expect:` key, e.g. `client` or `gaps.max`.
    public var key: String
    /// What the file expects, said plainly (`times-out at 3.00 s ± 0.15 s`).
    public var expected: String
    /// What happened.
    public var actual: String
    /// The verdict for this expectation.
    public var status: Status

    /// A result.
    public init(key: String, expected: String, actual: String, status: Status) {
        self.key = key
        self.expected = expected
        self.actual = actual
        self.status = status
    }

    /// Whether it failed.
    public var failed: Bool { status == .failed }

    /// `PASS client: expected completes, got completes at 1.02 s`.
    public var line: String {
        switch status {
        case .passed: "pass \(key): expected \(expected), got \(actual)"
        case .failed: "FAIL \(key): expected \(expected), got \(actual)"
        case .skipped(let why): "skip \(key): \(why)"
        }
    }
}
