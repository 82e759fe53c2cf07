import LocatedYAML

// Reading `groups` and forming the default group.

extension ConfigLoading {
    mutating func readGroups(
        _ node: YAMLNode?, path groupsPath: String = "groups", models: [String: ModelConfig],
        aliases: [String: String]
    ) throws(LocatedError) -> [GroupConfig] {
        var groups: [GroupConfig] = []
        var memberOf: [String: (group: String, location: SourceLocation)] = [:]
        if let node, !node.isNull {
            for entry in try reader.entries(node, groupsPath) {
                let id = entry.key
                let path = "\(groupsPath).\(id)"
                if id == GroupConfig.defaultGroupID {
                    throw LocatedError(
                        "\(groupsPath): '\(id)' is the name of the default group; choose another name",
                        at: entry.keyNode.location)
                }
                var group = GroupConfig(id: id, members: [], location: entry.keyNode.location)
                let fields = try knownFields(
                    entry.value, at: path, allowed: ConfigLoader.groupKeys,
                    expecting: "the group's settings (a mapping with members)", place: "group '\(id)'")
                for fieldEntry in fields.entries where !fieldEntry.value.isNull {
                    let field = fieldEntry.value
                    let what = "\(path).\(fieldEntry.key)"
                    switch fieldEntry.key {
                    case "swap": group.swap = try reader.bool(field, what)
                    case "exclusive": group.exclusive = try reader.bool(field, what)
                    case "persistent": group.persistent = try reader.bool(field, what)
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
                                warnings.append(
                                    ConfigWarning(
                                        "group '\(id)' lists '\(member.value)', which is not a model defined under models\(hint); ignored",
                                        at: member.location, keyPath: what))
                                continue
                            }
                            memberOf[member.value] = (id, member.location)
                            group.members.append(member.value)
                        }
                    default: break  // ConfigLoader.groupKeys; unknown keys were warned about above
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
