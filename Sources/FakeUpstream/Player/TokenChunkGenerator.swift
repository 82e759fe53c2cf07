import DurationMath
import SeededRandom
/// Bytes to write at an offset; the unit the token generator hands to the planner.
public struct TimedBytes: Sendable, Hashable {
    /// Offset from the start of the step that produced these bytes, not yet time-scaled.
    public var at: Duration
    public var bytes: [UInt8]

    /// Pairs bytes with their offset.
    public init(at: Duration, bytes: [UInt8]) {
        self.at = at
        self.bytes = bytes
    }
}

/// Turns a `tokens` step into llama-server's SSE chunks: same JSON keys in the same order, same grouping of events
/// into writes, deterministic from the seed.
///
/// Chat: the first write holds the role event and the first token event (as chat_stream.raw's first chunk), then one
/// token event per write, then the finish chunk with `timings` (with `include_usage`: the finish chunk and a
/// `"choices":[]` usage event share one write), then `data: [DONE]`. Completion: one `text_completion` event per
/// token, the finish chunk with `usage` and `timings`, `data: [DONE]`. Native `/completion`: partial results,
/// then the final `"stop":true` result; llama-server sends no `[DONE]` there.
public struct TokenChunkGenerator: Sendable {
    /// The scripted step: count, speed, jitter, seed, words.
    public var stream: TokenStream
    /// Which endpoint's chunk shape to write.
    public var style: TokenStyle
    /// Model id written into the chunks.
    public var model: String
    /// Prompt size reported in `usage` and `timings`.
    public var promptTokens: Int
    /// The request's `stream_options.include_usage`: llama-server then adds a separate usage event.
    public var includeUsage: Bool

    /// A generator for one `tokens` step of one request; a prompt size below 1 counts as 1.
    public init(
        stream: TokenStream,
        style: TokenStyle,
        model: String,
        promptTokens: Int = 1,
        includeUsage: Bool = false
    ) {
        self.stream = stream
        self.style = style
        self.model = model
        self.promptTokens = max(promptTokens, 1)
        self.includeUsage = includeUsage
    }

    /// The fixed `created` timestamp of generated chunks (that of the reference captures): plans stay
    /// reproducible, and no clock is read.
    public static let baseCreated = 1_795_684_691

    /// Built-in token texts, used when the stream names no `words`.
    public static let defaultWords: [String] = [
        " forest", " killing", " mobile", " dying", " temperature", " outros", " luc", " tell", " links",
        " listened", " toujours", " deleted", " material", " lab", " estaba", " julio", " arbitrary", " wine",
        " mistaken", " compare", " river", " quiet", " lantern", " paper", " orbit", " marble", " signal",
        " harbor", " meadow", " copper", " violet", " echo",
    ]

    /// The most tokens one step generates; larger counts are cut here so a typo cannot exhaust memory.
    public static let maxTokenCount = 1_000_000

    /// The number of tokens generated: `count`, within `0...maxTokenCount`.
    public var tokenCount: Int { min(max(stream.count, 0), Self.maxTokenCount) }

    /// `chatcmpl-` and 32 letters or digits, from the seed.
    public var completionID: String {
        var random = SplitMix64(seed: stream.seed ^ 0x1D5E_ED00_0000_0001)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return "chatcmpl-" + String((0..<32).map { _ in alphabet[random.nextIndex(below: alphabet.count)] })
    }

    /// The text of each token, drawn from `words` (or the built-in list) with the seed.
    public var tokenTexts: [String] {
        let words = stream.words.isEmpty ? Self.defaultWords : stream.words
        var random = SplitMix64(seed: stream.seed ^ 0x3011_D500_0000_0002)
        return (0..<tokenCount).map { _ in words[random.nextIndex(below: words.count)] }
    }

    /// When each token is sent, from the step's start, unscaled: `firstTokenAfter`, then intervals of
    /// `1 / perSecond`, each stretched by up to ±`jitter` drawn from the seed.
    public var tokenOffsets: [Duration] {
        let interval = stream.perSecond > 0 && stream.perSecond.isFinite ? 1 / stream.perSecond : 0
        let jitter = min(max(stream.jitter.isFinite ? stream.jitter : 0, 0), 0.999)
        var random = SplitMix64(seed: stream.seed ^ 0x7151_7E50_0000_0003)
        var seconds = stream.firstTokenAfter.seconds
        var offsets: [Duration] = []
        for index in 0..<tokenCount {
            if index > 0 {
                let stretch = jitter == 0 ? 1 : 1 + jitter * (2 * random.nextUnit() - 1)
                seconds += interval * stretch
            }
            offsets.append(.saturating(seconds: seconds))
        }
        return offsets
    }

    /// When generation is over (last token, or `firstTokenAfter` when there are none), unscaled.
    public var finishOffset: Duration {
        tokenOffsets.last ?? stream.firstTokenAfter
    }

    /// What llama-server would report for this generation.
    public var timings: LlamaServerJSON.Timings {
        let offsets = tokenOffsets
        // n tokens span n - 1 intervals; count one more so per-second figures match `perSecond`.
        var predictedMs = stream.perSecond > 0 && stream.perSecond.isFinite ? 1e3 / stream.perSecond : 0
        if offsets.count > 1 {
            predictedMs = (offsets[offsets.count - 1] - offsets[0]).seconds * 1e3 * Double(offsets.count)
                / Double(offsets.count - 1)
        }
        return LlamaServerJSON.Timings(
            promptN: promptTokens,
            promptMs: stream.firstTokenAfter.seconds * 1e3,
            predictedN: tokenCount,
            predictedMs: predictedMs
        )
    }

    var envelope: LlamaServerJSON.Envelope {
        LlamaServerJSON.Envelope(id: completionID, created: Self.baseCreated, model: model)
    }

    var usage: String {
        LlamaServerJSON.usage(completionTokens: tokenCount, promptTokens: promptTokens)
    }

    /// The SSE writes of the stream, in order, each with its unscaled offset from the step's start.
    public func writes() -> [TimedBytes] {
        let texts = tokenTexts
        let offsets = tokenOffsets
        var writes: [TimedBytes] = []
        let envelope = self.envelope
        switch style {
        case .chat:
            for (index, text) in texts.enumerated() {
                var events = ""
                if index == 0 { events += event(LlamaServerJSON.chatRoleChunk(envelope)) }
                events += event(LlamaServerJSON.chatTokenChunk(text, envelope))
                writes.append(TimedBytes(at: offsets[index], bytes: Array(events.utf8)))
            }
            if stream.finish {
                let finishChoice = LlamaServerJSON.chatChoice(delta: "{}", finishReason: "length")
                var events: String
                if includeUsage {
                    events = event(LlamaServerJSON.chatChunk(choices: finishChoice, envelope))
                    events += event(
                        LlamaServerJSON.chatChunk(
                            choices: "[]", envelope,
                            tail: ",\"usage\":\(usage),\"timings\":\(timings.json)"
                        )
                    )
                } else {
                    let tail = ",\"timings\":\(timings.json)"
                    events = event(LlamaServerJSON.chatChunk(choices: finishChoice, envelope, tail: tail))
                }
                if texts.isEmpty { events = event(LlamaServerJSON.chatRoleChunk(envelope)) + events }
                writes.append(TimedBytes(at: finishOffset, bytes: Array(events.utf8)))
                writes.append(TimedBytes(at: finishOffset, bytes: Array(event("[DONE]").utf8)))
            }
        case .completion:
            for (index, text) in texts.enumerated() {
                let chunk = LlamaServerJSON.textCompletion(text: text, finishReason: nil, envelope)
                writes.append(TimedBytes(at: offsets[index], bytes: Array(event(chunk).utf8)))
            }
            if stream.finish {
                let chunk = LlamaServerJSON.textCompletion(
                    text: "", finishReason: "length", envelope, usage: usage, timings: timings
                )
                writes.append(TimedBytes(at: finishOffset, bytes: Array(event(chunk).utf8)))
                writes.append(TimedBytes(at: finishOffset, bytes: Array(event("[DONE]").utf8)))
            }
        case .native:
            for (index, text) in texts.enumerated() {
                let chunk = LlamaServerJSON.nativePartial(
                    content: text, tokensPredicted: index + 1, tokensEvaluated: promptTokens
                )
                writes.append(TimedBytes(at: offsets[index], bytes: Array(event(chunk).utf8)))
            }
            if stream.finish {
                let chunk = LlamaServerJSON.nativeFinal(
                    content: "", model: model, tokensPredicted: tokenCount, tokensEvaluated: promptTokens,
                    stream: true, seed: stream.seed, timings: timings
                )
                writes.append(TimedBytes(at: finishOffset, bytes: Array(event(chunk).utf8)))
            }
        }
        return writes
    }

    /// The non-streamed body llama-server answers with for the same generation.
    public func completeBody() -> String {
        let text = tokenTexts.joined()
        switch style {
        case .chat:
            return LlamaServerJSON.chatCompletion(
                content: text, finishReason: "length", envelope, usage: usage, timings: timings
            )
        case .completion:
            return LlamaServerJSON.textCompletion(
                text: text, finishReason: "length", envelope, usage: usage, timings: timings
            )
        case .native:
            return LlamaServerJSON.nativeFinal(
                content: text, model: model, tokensPredicted: tokenCount, tokensEvaluated: promptTokens,
                stream: false, seed: stream.seed, timings: timings
            )
        }
    }

    /// The chunk style llama-server uses on `path`: completions, native `/completion`, or chat.
    public static func style(forPath path: String) -> TokenStyle {
        switch path {
        case "/v1/completions", "/completions": .completion
        case "/completion": .native
        default: .chat
        }
    }

    private func event(_ json: String) -> String { "data: \(json)\n\n" }
}
