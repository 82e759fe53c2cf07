import Wire
import Yams

// Reading `groups` and forming the default group.

extension ConfigLoading {
    mutating func readGroups(
        _ node: Node?, models: [String: ModelConfig], aliases: [String: String]
    ) throws(LocatedError) -> [GroupConfig] {
        var groups: [GroupConfig] = []
        var memberOf: [String: (group: String, location: SourceLocation)] = [:]
        if let node, !reader.isNull(node) {
            for (keyNode, value) in try reader.mapping(node, "groups") {
                let id = try reader.key(keyNode)
                let path = "groups.\(id)"
                if id == GroupConfig.defaultGroupID {
                    throw LocatedError(
                        "groups: '\(id)' is the name of the default group; choose another name",
                        at: reader.location(of: keyNode))
                }
                var group = GroupConfig(id: id, members: [], location: reader.location(of: keyNode))
                let fields = try reader.mapping(value, path, expecting: "the group's settings (a mapping with members)")
                for (fieldNode, field) in fields {
                    let key = try reader.key(fieldNode)
                    let what = "\(path).\(key)"
                    switch key {
                    case "swap": group.swap = try reader.bool(field, what) ?? true
                    case "exclusive": group.exclusive = try reader.bool(field, what) ?? true
                    case "persistent": group.persistent = try reader.bool(field, what) ?? false
                    case "members":
                        for member in try reader.strings(field, what) {
                            if group.members.contains(member.value) {
                                throw LocatedError(
                                    "\(what): model '\(member.value)' is listed twice", at: member.location)
                            }
                            if let other = memberOf[member.value] {
                                throw LocatedError(
                                    "\(what): model '\(member.value)' is already a member of group '\(other.group)' (\(other.location)); a model can be in one group only",
                                    at: member.location)
                            }
                            guard models[member.value] != nil else {
                                let hint =
                                    aliases[member.value].map { " (it is an alias of '\($0)': list the model id)" }
                                    ?? ""
                                reader.warnings.append(
                                    ConfigWarning(
                                        "group '\(id)' lists '\(member.value)', which is not a model defined under models\(hint); ignored",
                                        at: member.location, keyPath: what))
                                continue
                            }
                            memberOf[member.value] = (id, member.location)
                            group.members.append(member.value)
                        }
                    default:
                        reader.warn(
                            ConfigLoading.unknownKeyMessage(key, in: "group '\(id)'", llamaSwapKeys: []),
                            at: fieldNode, keyPath: what)
                    }
                }
                groups.append(group)
            }
        }
        let ungrouped = ProxyConfig.sortedIDs(models.keys.filter { memberOf[$0] == nil })
        if !ungrouped.isEmpty {
            groups.append(GroupConfig(id: GroupConfig.defaultGroupID, members: ungrouped))
        }
        return groups
    }
}
