extension ModelConfig {
    /// A `${PORT}` model's argvs before the port was filled in, so the supervisor can start it on another port when
    /// the assigned one is held by another process. Only set when the `proxy` URL also comes from `${PORT}`.
    public struct PortTemplate: Sendable, Hashable {
        /// `cmd` split, with `${PORT}` still in it.
        public var command: [String]
        /// `cmdStop` split, with `${PORT}` (and `${PID}`) still in it.
        public var stopCommand: [String]?

        public init(command: [String], stopCommand: [String]? = nil) {
            self.command = command
            self.stopCommand = stopCommand
        }
    }

    /// This model with `${PORT}` = `newPort` in its commands and its upstream URL; `nil` when its port is fixed
    /// (no `${PORT}`, or a `proxy:` that names its own port).
    public func movingPort(to newPort: Int) -> ModelConfig? {
        guard let template = portTemplate, port != nil else { return nil }
        let value = String(newPort)
        var moved = self
        moved.command = template.command.map { $0.replacingOccurrences(of: "${PORT}", with: value) }
        moved.stopCommand = template.stopCommand?.map { $0.replacingOccurrences(of: "${PORT}", with: value) }
        moved.upstream.port = newPort
        moved.port = newPort
        return moved
    }
}
