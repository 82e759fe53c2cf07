import LocatedYAML

/// Expands `${name}` macros in a model's fields, as llama-swap does, with located errors.
///
/// Definitions come from the global `macros`, then the model's own `macros` (a model macro replaces a global one of
/// the same name), plus the built-in `MODEL_ID`. A macro's value may use other macros, in any order of definition
/// (llama-swap needs them defined first; everything it accepts expands the same here). A macro that ends up using
/// itself is an error naming the cycle; a reference to a name that is not defined is an error at the place that
/// uses it. Names the loader fills in later (`PORT`, and `PID` in `cmdStop`) are left in place.
struct MacroExpander {
    struct Definition {
        var name: String
        var value: String
        var location: SourceLocation
    }

    private var definitions: [String: Definition] = [:]

    init(_ definitions: [Definition]) {
        for definition in definitions { self.definitions[definition.name] = definition }
    }

    /// Names no user macro may take.
    static let reservedNames: Set<String> = ["PORT", "MODEL_ID", "PID"]

    /// Whether `name` is a valid macro name (llama-swap's `^[a-zA-Z0-9_-]+$`, under 64 characters).
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count < 64 && name.unicodeScalars.allSatisfy(isNameScalar)
    }

    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-": true
        default: false
        }
    }

    /// `text` with every macro replaced, leaving `${name}` for names in `keep`.
    /// - Parameters:
    ///   - location: where `text` is written, for errors about an unknown macro.
    ///   - field: what `text` is (`models.llama.cmd`), for messages.
    func expand(
        _ text: String, keeping keep: Set<String>, at location: SourceLocation, field: String
    ) throws(LocatedError) -> String {
        var resolved: [String: String] = [:]
        return try expand(text, keeping: keep, at: location, field: field, stack: [], resolved: &resolved)
    }

    /// Longest text an expansion may produce: macros that use each other twice per level grow exponentially, and a
    /// config must fail with a message, not exhaust memory.
    static let maximumExpandedLength = 1 << 20

    /// Checks every definition for cycles, so that a cycle is reported even in a macro no model uses.
    func checkCycles() throws(LocatedError) {
        var resolved: [String: String] = [:]
        for name in definitions.keys.sorted() {
            try resolve(
                name, keeping: MacroExpander.reservedNames, stack: [], resolved: &resolved, ignoringUnknown: true)
        }
    }

    @discardableResult
    private func resolve(
        _ name: String, keeping keep: Set<String>, stack: [String], resolved: inout [String: String],
        ignoringUnknown: Bool = false
    ) throws(LocatedError) -> String {
        guard let definition = definitions[name] else { return "${\(name)}" }
        if let done = resolved[name] { return done }
        if let start = stack.firstIndex(of: name) {
            let cycle = (stack[start...] + [name]).joined(separator: " → ")
            let first = definitions[stack[start]] ?? definition
            throw LocatedError("macro '\(stack[start])' uses itself: \(cycle)", at: first.location)
        }
        let value = try expand(
            definition.value, keeping: keep, at: definition.location, field: "macro '\(name)'",
            stack: stack + [name], resolved: &resolved, ignoringUnknown: ignoringUnknown
        )
        resolved[name] = value
        return value
    }

    private func expand(
        _ text: String, keeping keep: Set<String>, at location: SourceLocation, field: String, stack: [String],
        resolved: inout [String: String], ignoringUnknown: Bool = false
    ) throws(LocatedError) -> String {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            let afterOpen = rest[open.upperBound...]
            guard let close = afterOpen.firstIndex(of: "}"),
                case let name = String(afterOpen[..<close]), MacroExpander.isValidName(name)
            else {
                // Not a macro reference (`${` alone, `${env.X}` already handled, `${a b}`): keep the text.
                result += "${"
                rest = afterOpen
                continue
            }
            rest = afterOpen[afterOpen.index(after: close)...]
            if keep.contains(name) && definitions[name] == nil {
                result += "${\(name)}"
            } else if definitions[name] != nil {
                result += try resolve(
                    name, keeping: keep, stack: stack, resolved: &resolved, ignoringUnknown: ignoringUnknown)
                if result.utf8.count > MacroExpander.maximumExpandedLength {
                    throw LocatedError(
                        "\(field): expanding macros makes more than 1 MiB of text; do the macros use each other in a loop?",
                        at: location)
                }
            } else if ignoringUnknown {
                result += "${\(name)}"
            } else {
                let hint =
                    MacroExpander.reservedNames.contains(name)
                    ? " (${\(name)} cannot be used here)"
                    : " (define it under macros, globally or in the model)"
                throw LocatedError("unknown macro '${\(name)}' in \(field)\(hint)", at: location)
            }
        }
        return result + rest
    }
}
