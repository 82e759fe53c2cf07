import Wire

/// The SSE events `sendLoadingState` shows while a model loads: chat completion chunks whose delta carries only
/// `reasoning_content`, as llama-swap sends them, so chat UIs show the load as "thinking" and no answer text is
/// invented.
enum LoadingStateEvent {
    /// One complete event (`data: {…}\n\n`) for a loading step.
    static func bytes(model: String, message: String, index: Int) -> [UInt8] {
        let text = (index == 0 ? "" : "\n") + message
        let json =
            "{\"id\":\"loading-\(index)\",\"object\":\"chat.completion.chunk\",\"model\":\(JSONText.quote(model)),"
            + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":"
            + "\(JSONText.quote(text))},\"finish_reason\":null}]}"
        return Array("data: \(json)\n\n".utf8)
    }
}
