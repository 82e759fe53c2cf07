import FakeUpstream
import Timeline

/// The profiles a scenario file names (`profile:`), on top of the catalog in the `Timeline` target.
extension ClientProfiles {
    /// A custom profile from a scenario's `profile:` mapping: `headers` until the head, `idle` between reads
    /// (the wait for the first byte included), `total` per attempt, `retries` without delay.
    public static func custom(_ spec: CustomProfileSpec) -> ClientProfile {
        ClientProfile(
            name: "custom", summary: "custom timeouts from the scenario file", headersTimeout: spec.headers,
            readTimeout: spec.idle, totalTimeout: spec.total, retries: spec.retries)
    }

    /// The profile for a scenario's `profile:` choice; `nil` chooses `defaultProfile`.
    public static func resolve(_ choice: ProfileChoice?) -> ClientProfile {
        switch choice {
        case .named(let name)?: named(name) ?? defaultProfile
        case .custom(let spec)?: custom(spec)
        case nil: defaultProfile
        }
    }
}
