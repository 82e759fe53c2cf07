import LocatedYAML

extension YAMLReader {
    /// `llamaServer:`: which llama-server release the fake imitates (`Scenarios/README.md`, "Top level").
    func llamaServer(_ node: YAMLNode) throws(LocatedError) -> LlamaServerBehaviour {
        let fields = try fields(node, "llamaServer", allowed: ScenarioParser.Keys.llamaServer)
        var behaviour = LlamaServerBehaviour()
        if let node = fields["headers"] { behaviour.headers = try choice(node, "headers", ScenarioParser.headTimings) }
        if let node = fields["ping"] { behaviour.ping = try ping(node) }
        return behaviour
    }

    /// `llamaServer.ping`: every key optional, so `ping: {}` is llama-server's default (30 s, `:\n\n`).
    func ping(_ node: YAMLNode) throws(LocatedError) -> SSEPing {
        let fields = try fields(node, "ping", allowed: ScenarioParser.Keys.ping)
        var ping = SSEPing(interval: SSEPing.llamaServerDefaultInterval)
        if let node = fields["interval"] {
            ping.interval = try duration(node, "interval")
            // At least a millisecond: a zero interval would mean a ping loop with no time between writes.
            guard ping.interval >= .milliseconds(1) else {
                throw mismatch("interval", expected: "a duration of at least 1ms", got: node)
            }
        }
        if let node = fields["bytes"] {
            ping.bytes = try bytes(node, "bytes")
            guard !ping.bytes.isEmpty else {
                throw mismatch("bytes", expected: "at least one byte (llama-server writes \":\\n\\n\")", got: node)
            }
        }
        if let node = fields["perRequest"] { ping.perRequest = try bool(node, "perRequest") }
        return ping
    }
}

extension ScenarioParser {
    static let headTimings: KeyValuePairs<String, HeadTiming> = ["afterPrefill": .afterPrefill, "early": .early]
}
