import Wire

/// What one request's relay needs to know besides the request: decided by routing from the config.
struct RelaySettings {
    /// The model the client asked for (id or alias), passed to the ``UpstreamProvider``.
    var requestedModel: String
    /// Whether the client asked for a stream (`"stream": true` or `?stream=true`): only these get heartbeats.
    var stream: Bool
    /// `nil` when heartbeats are off for this model.
    var heartbeatInterval: Duration?
    var heartbeat: SSEHeartbeat
    /// The model's `responseHeaderTimeout` (`nil`: off): longest wait from sending the request to the upstream's head.
    var responseHeaderTimeout: Duration? = nil
    /// The model's `streamIdleTimeout` (`nil`: off): longest silence between upstream body reads after the head.
    var streamIdleTimeout: Duration? = nil
    /// Show model loading as `reasoning_content` deltas (llama-swap's `sendLoadingState`), streaming chat only.
    var sendLoadingState: Bool
    /// The request target to send upstream (path and query), before the upstream's base path is prepended.
    var forwardURI: String
    /// The model's `filters`, applied to the forwarded JSON body with `useModelName` (``RequestBodyEdits``).
    var filters = FilterSettings()
    /// The config snapshot the router decided with; the supervisor resolves the model in the same one.
    var snapshot: ConfigSnapshot? = nil
    /// A peer's model (``PeerRouting``): leased at once, credentials injected, no supervisor involved.
    var peer: PeerTarget? = nil
    /// The `model` the forwarded body carries when a profile pin or a selector chose a target other than the name
    /// the client sent: the target, as llama-swap writes it there (`ReplaceRequestModel` in its selector
    /// middleware). The model's `useModelName`, applied after it, still wins. `nil`: the body keeps its `model`.
    var bodyModel: String? = nil
    /// The request asks to switch protocols (`Upgrade` with `Connection: upgrade`, a WebSocket): its `Upgrade` header
    /// is forwarded, and a `101` answer turns both connections into one byte tunnel (``TunnelHandler``).
    var upgrade: String? = nil
    /// `/upstream/<model>/…`: the body goes to the model's own server exactly as sent, with no `useModelName`,
    /// filters or target name (llama-swap runs none of its body middleware there).
    var passthrough = false
}
