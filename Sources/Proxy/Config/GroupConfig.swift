import Wire

/// A llama-swap group: which models may run together and whom loading one of them evicts.
///
/// `swap`: only one member runs at a time (loading one stops the others). `exclusive`: loading a member stops the
/// models of every other group, except persistent ones. `persistent`: other groups never stop this group's models.
/// Models in no group form llama-swap's default group `(default)` (swap and exclusive: one model at a time).
public struct GroupConfig: Sendable, Hashable {
    public var id: String
    public var swap: Bool
    public var exclusive: Bool
    public var persistent: Bool
    /// Model ids (never aliases), in the order written.
    public var members: [String]
    /// Where the group is defined; `nil` for the default group and for groups built in code.
    public var location: SourceLocation?

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
