/// The harness library: replaying scenario files end to end, client timeout profiles, expectations, the timeline
/// report and the recorder. Executables stay thin and call into here.
public enum HarnessInfo {
    /// Shown by `harness --version`.
    public static let version = "0.1.0-dev"
}
