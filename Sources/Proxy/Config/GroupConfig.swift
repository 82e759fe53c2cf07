import LocatedYAML

/// A llama-swap group: which models may run together and whom loading one of them evicts.
///
/// `swap`: only one member runs at a time (loading one stops the others). `exclusive`: loading a member stops the
/// models of every other group, except persistent ones. `persistent`: other groups never stop this group's models.
/// Models in no group form llama-swap's default group `(default)` (swap and exclusive: one model at a time).
public struct GroupConfig: Sendable, Hashable {
    /// The key under `groups:` (or `(default)`), for logs and `/running`.
    public var id: String
    /// Only one member runs at a time.
    public var swap: Bool
    /// Loading a member stops every other non-persistent group.
    public var exclusive: Bool
    /// Never stopped by another group.
    public var persistent: Bool
    /// Model ids (never aliases), in the order written.
    public var members: [String]
    /// Where the group is defined; `nil` for the default group and for groups built in code.
    public var location: SourceLocation?

    /// Defaults are llama-swap's: swap and exclusive, not persistent.
    public init(
        id: String,
        swap: Bool = true,
        exclusive: Bool = true,
        persistent: Bool = false,
        members: [String],
        location: SourceLocation? = nil
    ) {
        self.id = id
        self.swap = swap
        self.exclusive = exclusive
        self.persistent = persistent
        self.members = members
        self.location = location
    }

    /// The id llama-swap gives the group of models that are in no group.
    public static let defaultGroupID = "(default)"
}
