import Foundation
import NIOCore

@testable import Proxy

/// Admin requests on a ``DrivenRelayRig``'s client connection, after its relayed response: the activity endpoints
/// read through the real router, as the web UI reads them.
extension DrivenRelayRig {
    /// `GET path` on the rig's connection: the status and the body.
    func adminGet(_ path: String, headers: String = "") throws -> WireResponse {
        _ = try take()
        try client.writeInbound(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: proxy\r\n\(headers)\r\n"))
        return WireResponse(try take())
    }

    /// `GET path`, its body as a JSON object.
    func adminJSON(_ path: String) throws -> [String: Any] {
        let response = try adminGet(path)
        guard response.status == 200, let json = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
        else { throw RigError("GET \(path): \(response.status ?? 0) \(String(decoding: response.body, as: UTF8.self))") }
        return json
    }

    /// The events of `lane` in `/api/activity/{id}/timeline`: their times (ms) and labels.
    func lane(_ lane: String, id: String = DrivenRelayRig.requestID) throws -> [(t: Double, label: String, bytes: Int?)] {
        let timeline = try adminJSON("/api/activity/\(id)/timeline")
        let events = timeline["events"] as? [[String: Any]] ?? []
        return events.filter { $0["lane"] as? String == lane }.map {
            (($0["t"] as? NSNumber)?.doubleValue ?? -1, $0["label"] as? String ?? "", ($0["bytes"] as? NSNumber)?.intValue)
        }
    }
}

/// llama-server's last events: a content chunk, the final chunk with `usage` and `timings`, `[DONE]`.
enum LlamaServerTail {
    static let content = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi \\\"timings\\\": {\"}}]}\n\n"
    static let final =
        "data: {\"choices\":[{\"finish_reason\":\"stop\",\"index\":0,\"delta\":{}}],\"created\":1,\"id\":\"c1\","
        + "\"model\":\"m\",\"object\":\"chat.completion.chunk\",\"usage\":{\"completion_tokens\":12,"
        + "\"prompt_tokens\":34,\"total_tokens\":46},\"timings\":{\"cache_n\":0,\"prompt_n\":34,\"prompt_ms\":50.5,"
        + "\"prompt_per_token_ms\":1.48,\"prompt_per_second\":673.2,\"predicted_n\":12,\"predicted_ms\":99.6,"
        + "\"predicted_per_token_ms\":8.3,\"predicted_per_second\":120.5}}\n\ndata: [DONE]\n\n"
}
