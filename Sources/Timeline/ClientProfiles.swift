/// The catalog of client profiles: real clients' documented timeout rules, by the names scenario files use.
public enum ClientProfiles {
    /// Node's undici (`fetch` in Node 18+): `headersTimeout` 300 s from sending the request until the response
    /// headers are complete, then `bodyTimeout` 300 s between body chunks; any body bytes, an SSE comment
    /// included, reset it. Source: undici `Client` options (docs/docs/api/Client.md, "headersTimeout" and
    /// "bodyTimeout", default 300e3 ms).
    public static let undici = ClientProfile(
        name: "undici",
        summary: "Node undici/fetch: 300 s until headers, then 300 s between body chunks",
        headersTimeout: .seconds(300), bodyTimeout: .seconds(300))

    /// openai-python: `httpx.Timeout(600, connect=5)` applies 600 s to every read, the wait for the status line
    /// included; `max_retries=2` resends a timed-out request, waiting 0.5 s then 1 s (doubling, at most 8 s;
    /// the real client jitters these by up to 25 %). Source: openai-python `_constants.py` (`DEFAULT_TIMEOUT`,
    /// `DEFAULT_MAX_RETRIES`, `INITIAL_RETRY_DELAY`, `MAX_RETRY_DELAY`) and `_base_client.py` (retries on
    /// `httpx.TimeoutException`).
    public static let openAIPython = ClientProfile(
        name: "openai-python",
        summary: "openai-python (httpx): 600 s per read, headers included; 2 retries resend the request",
        readTimeout: .seconds(600), retries: 2, retryDelay: .milliseconds(500), maximumRetryDelay: .seconds(8))

    /// openai-node v5+: uses the platform `fetch`, which is undici in Node, so undici's rules decide; its own
    /// 10-minute `timeout` is longer than undici's 300 s. Source: openai-node README ("Timeouts") and undici's
    /// `Client` defaults.
    public static let openAINode = ClientProfile(
        name: "openai-node",
        summary: "openai-node v5+ on Node's fetch: undici's 300 s headers and 300 s body timeouts",
        headersTimeout: .seconds(300), bodyTimeout: .seconds(300))

    /// nginx as a reverse proxy: `proxy_read_timeout` 60 s "between two successive read operations", the wait
    /// for the response head included; then 504 to its client. Source: nginx `ngx_http_proxy_module` docs.
    public static let nginx = ClientProfile(
        name: "nginx",
        summary: "nginx proxy_read_timeout: 60 s between reads, the wait for the head included",
        readTimeout: .seconds(60))

    /// Cloudflare's proxy: error 524 when the origin sends no response within 100 s of the request ("A timeout
    /// occurred"). Source: Cloudflare docs, "Error 524".
    public static let cloudflare = ClientProfile(
        name: "cloudflare",
        summary: "Cloudflare: 524 unless the first byte of the response arrives within 100 s",
        firstByteTimeout: .seconds(100))

    /// Every named profile, in `ScenarioParser.Keys.profileNames` order.
    public static let all: [ClientProfile] = [undici, openAIPython, openAINode, nginx, cloudflare]

    /// The profile a scenario gets when it names none: undici, the most common client of local LLM servers
    /// (Roo Code, Cline, opencode, openai-node). It also bounds runs of upstreams that never answer.
    public static let defaultProfile = undici

    /// The named profile, if there is one.
    public static func named(_ name: String) -> ClientProfile? {
        all.first { $0.name == name }
    }
}
