import Foundation

/// Rewrites the `model` field of a JSON request body for `useModelName`: the upstream expects its own name for the
/// model, not the id the client used.
enum ModelNameRewriter {
    /// The body with its top-level `model` set to `name`, or `nil` when the body is not a JSON object (it is then
    /// forwarded as it came).
    static func rewrite(_ body: [UInt8], to name: String) -> [UInt8]? {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else { return nil }
        object["model"] = name
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])
        else { return nil }
        return Array(data)
    }
}
