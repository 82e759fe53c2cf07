import NIOHTTP1
import Wire

/// llama-swap's profile endpoints (`internal/server/apigroup.go` at 032d7419), behind `apiKeys` like the other admin
/// endpoints:
/// - `GET /api/profiles` → `{"active": name|null, "profiles": [{"id", "description", "pins": {id: target}}]}`,
///   profiles sorted by name, a disabling pin as `""`;
/// - `PUT /api/profiles/active` with `{"name": "coding"}` (or `null` for none) → `{"active": name|null}`; an
///   unknown profile is `404`, a body without a string-or-null `name` is `400` (OpenAI envelopes).
extension ProxyRouter {
    func profilesEndpoint(_ request: ProxyRequest, in snapshot: ConfigSnapshot) -> Decision {
        if request.head.method == .GET {
            let profiles = snapshot.config.profiles.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
            let rows = profiles.map { profile in
                let pins = profile.pins.map { "\(JSONText.quote($0.id)):\(JSONText.quote($0.target ?? ""))" }
                return "{\"id\":\(JSONText.quote(profile.name)),"
                    + "\"description\":\(JSONText.quote(profile.description ?? "")),"
                    + "\"pins\":{\(pins.joined(separator: ","))}}"
            }
            let active = Self.activeJSON(profiles: self.profiles, snapshot)
            return .respond(.json(200, "{\"active\":\(active),\"profiles\":[\(rows.joined(separator: ","))]}"))
        }
        let bytes = Array(request.body.readableBytesView)
        let name: String?
        do {
            let object = try JSONTopLevelScanner.scan(bytes)
            guard let member = bytes.withUnsafeBytes({ object.first("name", in: $0) }) else {
                return .respond(.error(400, "profile name is required"))
            }
            switch member.kind {
            case .null: name = nil
            case .string: name = try bytes.withUnsafeBytes { try JSONTopLevelScanner.decodeString($0, in: member.valueRange) }
            default: return .respond(.error(400, "profile name must be a string or null"))
            }
        } catch {
            return .respond(.error(400, "invalid profile request: the body is not a JSON object"))
        }
        guard profiles.activate(name, in: snapshot) else {
            return .respond(.error(404, "profile not found: \(name ?? "")"))
        }
        return .respond(.json(200, "{\"active\":\(Self.activeJSON(profiles: profiles, snapshot))}"))
    }

    private static func activeJSON(profiles: ProfileSwitch, _ snapshot: ConfigSnapshot) -> String {
        profiles.activeName(in: snapshot).map(JSONText.quote) ?? "null"
    }
}

// MARK: - Names and paths decided before routing

extension ProxyRouter {
    /// The name a request for `requested` is served under: the active profile's pin (``ProfileSwitch``), then, when
    /// that names a selector, the selector's choice (``SelectorChoice``) from the supervisor's model states. `nil`:
    /// the active profile disables the name.
    func resolveRequestedName(_ requested: String, in snapshot: ConfigSnapshot) -> String? {
        guard let pinned = profiles.pin(requested, in: snapshot) else { return nil }
        guard let selector = snapshot.config.selectors.first(where: { $0.id == pinned }) else { return pinned }
        let states = modelStates
        return SelectorChoice.choose(selector) { target in
            snapshot.config.model(named: target).flatMap { states[$0.id] } ?? .stopped
        } ?? pinned
    }

    /// The supervisor's model states (empty when the provider is not a ``Supervisor``, as in tests with fixed
    /// upstreams: every model then counts as stopped).
    var modelStates: [String: SelectorChoice.TargetState] { (provider as? Supervisor)?.board.current ?? [:] }

    /// `upstream.ignorePaths`: a `/upstream/<model>/<path>` request whose path matches one of the patterns (default:
    /// llama-swap's static-asset pattern) must not start or swap in its model: unless the model is ready, it gets a
    /// `409` (as llama-swap answers), and nothing starts. `nil`: relay it as usual.
    func ignoredUpstreamPath(_ path: String, model: String, in snapshot: ConfigSnapshot) -> SimpleResponse? {
        // A ready model serves every path: the state is one lookup, the patterns a regular-expression match each.
        guard (provider as? Supervisor)?.board.phase(of: model) != .ready else { return nil }
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        guard UpstreamIgnorePaths.matches(bare, patterns: snapshot.config.upstreamIgnorePaths) else { return nil }
        return .error(409, "model \(model) is not loaded; path matches upstream.ignorePaths")
    }
}
