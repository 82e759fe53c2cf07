import NIOConcurrencyHelpers

/// llama-swap's `profiles`: named sets of pins (requested id → target), one profile or none active, switched at run
/// time (`PUT /api/profiles/active`). Rules (llama-swap `internal/server/apigroup.go` and `profiles_test.go` at
/// 032d7419, and its `config.example.yaml`):
/// - Pins apply first, before aliases, filters and routing: a request naming a pinned id is served as if it named
///   the pin's target (a model, an alias, a `setParamsByID` id, a peer model or a selector), whatever the id names
///   otherwise.
/// - A pin with an empty target (or YAML `~`) disables the id while the profile is active: `404`.
/// - No profile active, or an id the active profile does not pin: the request is unchanged.
/// - `hooks.on_startup.profile` is active at start and again after every reload (a runtime choice is not kept);
///   an unknown name is refused (`404`) and the active profile stays.
public enum ProfilePins {
    /// What the active profile does to one requested id.
    public enum Resolution: Sendable, Hashable {
        case unchanged
        case pinned(to: String)
        case disabled
    }

    /// The pin of `requested` in `profile` (`nil`: no profile active).
    public static func resolve(_ requested: String, profile: ProfileSettings?) -> Resolution {
        guard let profile, let pin = profile.pins.first(where: { $0.id == requested }) else { return .unchanged }
        guard let target = pin.target, !target.isEmpty else { return .disabled }
        return .pinned(to: target)
    }
}

/// Which profile is active: the runtime state behind ``ProfilePins``, shared by every connection.
///
/// A choice made by the API holds for the config snapshot it was made under; a newer snapshot (a reload) starts
/// again from its own `hooks.on_startup.profile`.
public final class ProfileSwitch: Sendable {
    /// The snapshot generation the choice was made under, and the choice (`nil`: none active).
    private let choice = NIOLockedValueBox<(generation: Int, name: String?)?>(nil)

    public init() {}

    /// The active profile's name under `snapshot`.
    public func activeName(in snapshot: ConfigSnapshot) -> String? {
        let chosen = choice.withLockedValue { $0 }
        if let chosen, chosen.generation >= snapshot.generation { return chosen.name }
        return snapshot.config.startupProfile
    }

    /// The active profile under `snapshot`.
    public func active(in snapshot: ConfigSnapshot) -> ProfileSettings? {
        activeName(in: snapshot).flatMap { name in snapshot.config.profiles.first { $0.name == name } }
    }

    /// Makes `name` active (`nil` or empty: none). Returns false, changing nothing, when `snapshot` has no such
    /// profile.
    @discardableResult
    public func activate(_ name: String?, in snapshot: ConfigSnapshot) -> Bool {
        let name = name.flatMap { $0.isEmpty ? nil : $0 }
        if let name, !snapshot.config.profiles.contains(where: { $0.name == name }) { return false }
        choice.withLockedValue { $0 = (snapshot.generation, name) }
        return true
    }

    /// The name a request for `requested` is served under (`nil`: disabled by the active profile).
    public func pin(_ requested: String, in snapshot: ConfigSnapshot) -> String? {
        switch ProfilePins.resolve(requested, profile: active(in: snapshot)) {
        case .unchanged: requested
        case .pinned(let target): target
        case .disabled: nil
        }
    }
}
