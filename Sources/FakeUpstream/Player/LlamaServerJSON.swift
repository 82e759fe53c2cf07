import Wire

/// The JSON bodies llama-server writes, built as text so that keys come in llama-server's order (its
/// `nlohmann::ordered_json` keeps insertion order; a dictionary-based encoder would not).
///
/// Shapes follow the reference captures in `shared/reference/llama-server` and, where nothing was captured, llama.cpp's
/// `server-task.cpp` and `server-common.cpp`.
public enum LlamaServerJSON {
    /// What every OpenAI-style chunk of llama-server carries as `system_fingerprint`.
    public static let systemFingerprint = "b0-unknown"

    /// Per-request numbers shared by the chunks and bodies of one response.
    public struct Envelope: Sendable, Hashable {
        /// `chatcmpl-…`, the same in every chunk of one response.
        public var id: String
        /// Unix seconds.
        public var created: Int
        public var model: String

        /// Groups the three values every chunk of a response repeats.
        public init(id: String, created: Int, model: String) {
            self.id = id
            self.created = created
            self.model = model
        }
    }

    /// llama-server's `timings` object.
    public struct Timings: Sendable, Hashable {
        /// Prompt tokens served from the KV cache.
        public var cacheN: Int
        /// Prompt tokens evaluated.
        public var promptN: Int
        /// Prompt processing time.
        public var promptMs: Double
        /// Tokens generated.
        public var predictedN: Int
        /// Generation time.
        public var predictedMs: Double

        /// The raw figures; rates are derived when rendering, as llama-server does.
        public init(cacheN: Int = 0, promptN: Int, promptMs: Double, predictedN: Int, predictedMs: Double) {
            self.cacheN = cacheN
            self.promptN = promptN
            self.promptMs = promptMs
            self.predictedN = predictedN
            self.predictedMs = predictedMs
        }

        /// The object, keys in llama-server's order; per-token and per-second values derived as it does.
        public var json: String {
            let promptMs = max(self.promptMs, 0.001)
            let predictedMs = max(self.predictedMs, 0.001)
            return "{\"cache_n\":\(cacheN),\"prompt_n\":\(promptN),\"prompt_ms\":\(number(promptMs))"
                + ",\"prompt_per_token_ms\":\(number(promptMs / Double(max(promptN, 1))))"
                + ",\"prompt_per_second\":\(number(1e3 / promptMs * Double(promptN)))"
                + ",\"predicted_n\":\(predictedN),\"predicted_ms\":\(number(predictedMs))"
                + ",\"predicted_per_token_ms\":\(number(predictedMs / Double(max(predictedN, 1))))"
                + ",\"predicted_per_second\":\(number(1e3 / predictedMs * Double(predictedN)))}"
        }
    }

    /// llama-server's `usage` object.
    public static func usage(completionTokens: Int, promptTokens: Int, cachedTokens: Int = 0) -> String {
        "{\"completion_tokens\":\(completionTokens),\"prompt_tokens\":\(promptTokens)"
            + ",\"total_tokens\":\(completionTokens + promptTokens)"
            + ",\"prompt_tokens_details\":{\"cached_tokens\":\(cachedTokens)}}"
    }

    // MARK: chat (`/v1/chat/completions`)

    /// A `chat.completion.chunk`; `choices` is raw JSON; `tail` is raw `,"key":value` text appended last (the
    /// finish chunk's `timings`, the usage event's `usage`).
    public static func chatChunk(
        choices: String,
        _ envelope: Envelope,
        tail: String = ""
    ) -> String {
        "{\"choices\":\(choices),\"created\":\(envelope.created),\"id\":\(quote(envelope.id))"
            + ",\"model\":\(quote(envelope.model)),\"system_fingerprint\":\(quote(systemFingerprint))"
            + ",\"object\":\"chat.completion.chunk\"\(tail)}"
    }

    /// The `choices` array of a chat chunk with one choice.
    public static func chatChoice(delta: String, finishReason: String?) -> String {
        "[{\"finish_reason\":\(finishReason.map(quote) ?? "null"),\"index\":0,\"delta\":\(delta)}]"
    }

    /// The first chunk of a chat stream: the assistant role, no content yet.
    public static func chatRoleChunk(_ envelope: Envelope) -> String {
        chatChunk(choices: chatChoice(delta: "{\"role\":\"assistant\",\"content\":null}", finishReason: nil), envelope)
    }

    /// A chat chunk carrying one token.
    public static func chatTokenChunk(_ text: String, _ envelope: Envelope) -> String {
        chatChunk(choices: chatChoice(delta: "{\"content\":\(quote(text))}", finishReason: nil), envelope)
    }

    /// The non-streamed chat body (`chat.completion`), as chat_nonstream.raw.
    public static func chatCompletion(
        content: String,
        finishReason: String,
        _ envelope: Envelope,
        usage: String,
        timings: Timings
    ) -> String {
        "{\"choices\":[{\"finish_reason\":\(quote(finishReason)),\"index\":0"
            + ",\"message\":{\"role\":\"assistant\",\"content\":\(quote(content))}}]"
            + ",\"created\":\(envelope.created),\"model\":\(quote(envelope.model))"
            + ",\"system_fingerprint\":\(quote(systemFingerprint)),\"object\":\"chat.completion\""
            + ",\"usage\":\(usage),\"id\":\(quote(envelope.id)),\"timings\":\(timings.json)}"
    }

    // MARK: completion (`/v1/completions`)

    /// A `text_completion` object (one chunk, or the whole non-streamed body); `usage` goes after `object` and
    /// before `id`, `timings` last, as in completions_stream.raw.
    public static func textCompletion(
        text: String,
        finishReason: String?,
        _ envelope: Envelope,
        usage: String? = nil,
        timings: Timings? = nil
    ) -> String {
        var out = "{\"choices\":[{\"text\":\(quote(text)),\"index\":0,\"logprobs\":null"
            + ",\"finish_reason\":\(finishReason.map(quote) ?? "null")}]"
            + ",\"created\":\(envelope.created),\"model\":\(quote(envelope.model))"
            + ",\"system_fingerprint\":\(quote(systemFingerprint)),\"object\":\"text_completion\""
        if let usage { out += ",\"usage\":\(usage)" }
        out += ",\"id\":\(quote(envelope.id))"
        if let timings { out += ",\"timings\":\(timings.json)" }
        return out + "}"
    }

    // MARK: native (`/completion`)

    /// A partial result of llama.cpp's native `/completion` stream.
    public static func nativePartial(content: String, tokensPredicted: Int, tokensEvaluated: Int) -> String {
        "{\"index\":0,\"content\":\(quote(content)),\"tokens\":[],\"stop\":false,\"id_slot\":0"
            + ",\"tokens_predicted\":\(tokensPredicted),\"tokens_evaluated\":\(tokensEvaluated)}"
    }

    /// The final result of `/completion` (the last streamed event, or the whole non-streamed body).
    public static func nativeFinal(
        content: String,
        model: String,
        tokensPredicted: Int,
        tokensEvaluated: Int,
        stream: Bool,
        seed: UInt64,
        timings: Timings
    ) -> String {
        "{\"index\":0,\"content\":\(quote(content)),\"tokens\":[],\"id_slot\":0,\"stop\":true"
            + ",\"model\":\(quote(model)),\"tokens_predicted\":\(tokensPredicted)"
            + ",\"tokens_evaluated\":\(tokensEvaluated)"
            + ",\"generation_settings\":{\"seed\":\(UInt32(truncatingIfNeeded: seed)),\"temperature\":0.8"
            + ",\"n_predict\":\(tokensPredicted),\"stream\":\(stream)}"
            + ",\"prompt\":\"\",\"has_new_line\":false,\"truncated\":false,\"stop_type\":\"limit\""
            + ",\"stopping_word\":\"\",\"tokens_cached\":\(tokensPredicted + tokensEvaluated)"
            + ",\"timings\":\(timings.json)}"
    }

    // MARK: errors

    /// llama-server's own error body (`format_error_response`): `{"error":{"code","message","type"}}`.
    public static func error(code: Int, message: String, type: String) -> String {
        "{\"error\":{\"code\":\(code),\"message\":\(quote(message)),\"type\":\(quote(type))}}"
    }

    /// A JSON string literal.
    public static func quote(_ text: String) -> String { JSONText.quote(text) }

    /// A JSON number as llama-server prints doubles (shortest round-trip form); non-finite values become 0.
    public static func number(_ value: Double) -> String {
        value.isFinite ? String(value) : "0.0"
    }
}
