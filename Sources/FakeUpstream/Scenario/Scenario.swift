import LocatedYAML

/// One scenario file: what the fake llama-server does, over time, for every request it may receive.
///
/// A scenario is a value: the parser (`ScenarioParser`) builds it from YAML, the player turns its scripts into timed
/// writes, and tests may build one directly in Swift. Durations here are as written in the file; the player
/// multiplies them by the effective time scale (`timeScale`, or the CLI's `--time-scale`).
public struct Scenario: Sendable {
    /// The file's stem (`slow-prefill` for `Scenarios/slow-prefill.yaml`), used in errors and the journal.
    public var name: String
    /// Path of the file this came from, if any.
    public var file: String?
    /// One line saying which real-world failure this models.
    public var description: String
    /// Multiplies every duration in the scenario (`0.01` replays a 95 s prefill in 0.95 s).
    public var timeScale: Double
    /// Model id the fake reports in `/v1/models` and in generated chunks when the request names none.
    public var model: String
    /// Extra model ids listed by `/v1/models` (besides `model`).
    public var models: [String]
    /// When true, a request that no rule matches gets a 500 naming the scenario instead of llama-server defaults.
    /// `/health` and `/v1/models` are always answered from `health` and `models`.
    public var strict: Bool
    /// `/health` over time since the fake started.
    public var health: HealthScript
    /// Response rules, tried in order; the first that matches (and is not exhausted) answers.
    public var rules: [ResponseRule]
    /// Which llama-server release the fake imitates for slow streams: when a `tokens` step sends its head, and
    /// whether silent streams are pinged. The default sends the head with the first write and never pings.
    public var llamaServer = LlamaServerBehaviour()
    /// The run's proxy settings, client request, client profile and expectations (`harness replay`); `nil` when
    /// the file has none. The fake itself ignores it.
    public var spec: ScenarioSpec? = nil

    public init(
        name: String,
        file: String? = nil,
        description: String,
        timeScale: Double = 1,
        model: String = Scenario.defaultModel,
        models: [String] = [],
        strict: Bool = false,
        health: HealthScript = .alwaysReady,
        rules: [ResponseRule] = []
    ) {
        self.name = name
        self.file = file
        self.description = description
        self.timeScale = timeScale
        self.model = model
        self.models = models
        self.strict = strict
        self.health = health
        self.rules = rules
    }

    /// The model id of the reference captures in `shared/reference/llama-server`.
    public static let defaultModel = "tiny-random-llama"
}

/// `/health` as a state machine over time: each state holds for its duration, the last one forever unless `repeats`.
public struct HealthScript: Sendable, Hashable {
    public var states: [HealthState]
    /// Start again from the first state after the last one's duration (flapping health).
    public var repeats: Bool

    public init(states: [HealthState], repeats: Bool = false) {
        self.states = states
        self.repeats = repeats
    }

    /// Ready from the start, as a loaded llama-server.
    public static let alwaysReady = HealthScript(states: [HealthState(status: 200)])
}

/// One state of `/health`.
public struct HealthState: Sendable, Hashable {
    /// 200 (ready) or, as llama.cpp while loading, 503; any status is allowed.
    public var status: Int
    /// How long this state holds; `nil` means forever (only meaningful for the last state).
    public var duration: Duration?
    /// The body; `nil` means llama.cpp's own: `{"status":"ok"}` for 200, the "Loading model" error for 503.
    public var body: [UInt8]?

    public init(status: Int, duration: Duration? = nil, body: [UInt8]? = nil) {
        self.status = status
        self.duration = duration
        self.body = body
    }
}

/// An HTTP header as written, order and case preserved (the fake must send exactly what the script says).
public struct HeaderField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// What a request must look like for a rule to answer it. Every field left `nil` (or empty) matches anything.
public struct RequestMatch: Sendable, Hashable {
    /// HTTP method, compared case-insensitively.
    public var method: String?
    /// Exact path, without the query string.
    public var path: String?
    /// The JSON body's `model` field.
    public var model: String?
    /// The JSON body's `stream` field (absent counts as `false`).
    public var stream: Bool?
    /// Headers that must be present with exactly these values (names case-insensitive), e.g. `X-Scenario`.
    public var headers: [HeaderField]

    public init(
        method: String? = nil,
        path: String? = nil,
        model: String? = nil,
        stream: Bool? = nil,
        headers: [HeaderField] = []
    ) {
        self.method = method
        self.path = path
        self.model = model
        self.stream = stream
        self.headers = headers
    }
}

/// A rule: which requests it answers and with what.
///
/// With one response (`steps:` in the file) the rule answers every matching request the same way. With a
/// `sequence:` the first matching request gets the first response, the second the second, and so on; once the
/// sequence is used up the rule no longer matches, and later rules (or defaults, or the strict-mode error) answer.
public struct ResponseRule: Sendable {
    /// Optional label, shown in the journal and in logs.
    public var name: String?
    public var match: RequestMatch
    public var responses: [ResponseScript]
    /// True for `steps:` (answer every request with `responses[0]`), false for `sequence:`.
    public var repeats: Bool
    /// Where the rule is written, for runtime messages.
    public var location: SourceLocation?

    public init(
        name: String? = nil,
        match: RequestMatch = RequestMatch(),
        responses: [ResponseScript],
        repeats: Bool,
        location: SourceLocation? = nil
    ) {
        self.name = name
        self.match = match
        self.responses = responses
        self.repeats = repeats
        self.location = location
    }
}

/// The steps of one response, played in order against a clock that starts when the request arrives.
public struct ResponseScript: Sendable {
    public var steps: [Step]

    public init(steps: [Step]) {
        self.steps = steps
    }
}

/// One thing the fake does while answering. Bytes are final here: escapes, hex, base64 and repeats were resolved
/// by the parser; SSE events are encoded by the player.
public enum Step: Sendable {
    /// Do nothing for this long (scaled).
    case wait(Duration)
    /// Send the status line and headers as one TCP write. Body framing follows `ResponseHead.framing`.
    case head(ResponseHead)
    /// Send these bytes as one TCP write (wrapped as one chunk when the framing is chunked).
    case write([UInt8])
    /// Send one SSE event as one TCP write.
    case event(SSEEvent)
    /// Send bytes as several TCP writes, cut at byte offsets, with waits between the pieces.
    case split(SplitWrite)
    /// Generate llama-server-shaped token chunks.
    case tokens(TokenStream)
    /// Pause until the test (or `POST /__harness/gates/NAME`) releases the gate with this name.
    case gate(String)
    /// How the response, and possibly the connection, ends. Steps after an `end` are refused by the parser.
    case end(Ending)
}

/// Status line and headers of a scripted response.
public struct ResponseHead: Sendable, Hashable {
    public var status: Int
    /// Reason phrase; `nil` means the standard one for `status`.
    public var reason: String?
    /// Headers in the order given.
    public var headers: [HeaderField]
    public var framing: Framing
    /// When true (the default) the fake adds what llama-server adds: `Server: llama.cpp` and
    /// `Access-Control-Allow-Origin: ` first, the framing header (`Content-Length` or `Transfer-Encoding`) unless
    /// given, and `Keep-Alive: timeout=5, max=100` last unless a `Connection` header is given. When false, only
    /// `headers` are sent, exactly. Never applied with `framing: .raw`.
    public var automaticHeaders: Bool

    public init(
        status: Int,
        reason: String? = nil,
        headers: [HeaderField] = [],
        framing: Framing = .chunked,
        automaticHeaders: Bool = true
    ) {
        self.status = status
        self.reason = reason
        self.headers = headers
        self.framing = framing
        self.automaticHeaders = automaticHeaders
    }
}

/// How the body's end is marked on the wire.
public enum Framing: Sendable, Hashable {
    /// `Content-Length`: the sum of the body's bytes, or `declared` when given (deliberately wrong lengths, too
    /// short or too long, behave as on the wire: the extra bytes are sent anyway, or the body ends early).
    case contentLength(declared: Int?)
    /// `Transfer-Encoding: chunked`: each write becomes one chunk; a clean end writes the `0\r\n\r\n` terminator.
    case chunked
    /// No length: the body ends when the fake closes the connection (HTTP/1.0 style).
    case closeDelimited
    /// Exactly as written, for recordings: the head is the status line and `headers` only (no automatic headers),
    /// each write goes out unwrapped (any chunk framing is in the bytes themselves), and nothing is added at the
    /// end; `clean` keeps the connection, `close` and `fin` close it.
    case raw
}

/// One SSE event. Lines are written in this order: comment, event, id, retry, data; then the blank line.
public struct SSEEvent: Sendable, Hashable {
    /// `: comment` line (without the colon and space).
    public var comment: String?
    public var event: String?
    public var id: String?
    public var retry: Int?
    /// Data; split at `\n` into several `data:` lines. `nil` writes no data line.
    public var data: [UInt8]?
    /// The line ending used for every line and for the blank line that ends the event.
    public var lineEnding: LineEnding

    public init(
        comment: String? = nil,
        event: String? = nil,
        id: String? = nil,
        retry: Int? = nil,
        data: [UInt8]? = nil,
        lineEnding: LineEnding = .lf
    ) {
        self.comment = comment
        self.event = event
        self.id = id
        self.retry = retry
        self.data = data
        self.lineEnding = lineEnding
    }
}

/// SSE allows three line endings; real servers use LF (llama-server) or CRLF (sse-starlette).
public enum LineEnding: String, Sendable, Hashable {
    case lf = "\n"
    case crlf = "\r\n"
    case cr = "\r"
}

/// One logical write cut into several TCP writes.
public struct SplitWrite: Sendable, Hashable {
    public var bytes: [UInt8]
    /// Strictly increasing offsets in `0 < offset < bytes.count`; n offsets make n + 1 pieces.
    public var offsets: [Int]
    /// Waits before each piece after the first: either one (used between every pair) or exactly `offsets.count`.
    public var gaps: [Duration]

    public init(bytes: [UInt8], offsets: [Int], gaps: [Duration]) {
        self.bytes = bytes
        self.offsets = offsets
        self.gaps = gaps
    }
}

/// A llama-server-shaped stream of token chunks, generated deterministically from a seed.
public struct TokenStream: Sendable, Hashable {
    /// Number of content tokens.
    public var count: Int
    /// Generation speed; the interval between tokens is `1 / perSecond` (scaled), plus jitter.
    public var perSecond: Double
    /// Delay before the first token, measured from the start of this step.
    public var firstTokenAfter: Duration
    /// Relative jitter of each interval, `0..<1` (0.2 = ±20 %), drawn from `seed`.
    public var jitter: Double
    public var seed: UInt64
    /// Chunk shape; `nil` means derived from the request path (chat, completions, or native `/completion`).
    public var style: TokenStyle?
    /// When true, finish like llama-server: a last chunk with `finish_reason` and `timings`, then `data: [DONE]`.
    public var finish: Bool
    /// Words to draw tokens from; empty means a built-in list.
    public var words: [String]

    public init(
        count: Int,
        perSecond: Double = 50,
        firstTokenAfter: Duration = .zero,
        jitter: Double = 0,
        seed: UInt64 = 1,
        style: TokenStyle? = nil,
        finish: Bool = true,
        words: [String] = []
    ) {
        self.count = count
        self.perSecond = perSecond
        self.firstTokenAfter = firstTokenAfter
        self.jitter = jitter
        self.seed = seed
        self.style = style
        self.finish = finish
        self.words = words
    }
}

/// Which llama-server endpoint's chunk shape to generate.
public enum TokenStyle: String, Sendable, Hashable, CaseIterable {
    /// `/v1/chat/completions`: `chat.completion.chunk` with `delta`.
    case chat
    /// `/v1/completions`: `text_completion` with `text`.
    case completion
    /// llama.cpp's native `/completion`: `{"content":…,"stop":false}`.
    case native
}

/// How a response ends.
public enum Ending: String, Sendable, Hashable, CaseIterable {
    /// Complete the framing (chunked terminator) and keep the connection open for the next request.
    case clean
    /// Complete the framing, then close (FIN): what llama-server does after every streamed response.
    case close
    /// Close now (FIN) without completing the framing: a truncated body.
    case fin
    /// Reset now: `SO_LINGER` 0 then close, so the peer sees ECONNRESET.
    case rst
    /// Shut down the write side only (FIN) and keep reading; the journal records what the peer does.
    case halfClose = "half-close"
    /// Send nothing more, ever, until the peer gives up.
    case hang
}
