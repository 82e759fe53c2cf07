import LocatedYAML

extension ScenarioParser {
    /// The keys the parser accepts in each section of a scenario file, in the order the README lists them.
    ///
    /// Public so that tests can compare them with `Scenarios/scenario.schema.json` and the two cannot drift apart,
    /// and so that error messages list exactly what is allowed.
    public enum Keys {
        /// The top-level mapping.
        public static let top = [
            "description", "timeScale", "model", "models", "strict", "llamaServer", "health", "responses",
        ] + specTop
        /// `llamaServer:`, the imitated release.
        public static let llamaServer = ["headers", "ping"]
        /// `llamaServer.ping`.
        public static let ping = ["interval", "bytes", "perRequest"]
        /// `health:`.
        public static let health = ["states", "repeat"]
        /// One entry of `health.states`.
        public static let healthState = ["status", "for", "body"]
        /// One entry of `responses`.
        public static let rule = ["name", "match", "steps", "sequence"]
        /// A rule's `match:`.
        public static let match = ["method", "path", "model", "stream", "headers"]
        /// One entry of a rule's `sequence:`.
        public static let sequenceEntry = ["steps"]
        /// The kinds of step; a step mapping holds exactly one of them.
        public static let stepKinds = ["wait", "status", "write", "event", "split", "tokens", "gate", "end"]
        /// Keys a `status` step may carry beside `status`.
        public static let statusOptions = ["reason", "headers", "framing", "contentLength", "automaticHeaders"]
        /// Every key a step mapping may hold.
        public static let step = stepKinds + statusOptions
        /// An `event:` step (also inside `split:`).
        public static let event = ["data", "event", "id", "retry", "comment", "lineEnding"]
        /// A `split:` step.
        public static let split = ["write", "event", "at", "gap", "gaps"]
        /// A `tokens:` step.
        public static let tokens = [
            "count", "perSecond", "firstTokenAfter", "jitter", "seed", "style", "finish", "words",
        ]
        /// Bytes written as a mapping: one of the three forms `{hex}`, `{base64}`, `{repeat, count}`.
        public static let bytes = YAMLReader.byteFormKeys
    }
}
