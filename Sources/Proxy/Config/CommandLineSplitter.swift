/// Turns a `cmd` text from the config into an argv, as a POSIX shell would split it, without running a shell.
///
/// Users paste llama-server command lines from their terminal, over several lines, with comments; llama-swap
/// accepts that, so we must too. Running them through `/bin/sh` would add a process (and a second PID to signal) and
/// let a stray `$` or `;` mean something. The rules, in order:
/// 1. A line whose first non-blank character is `#` is a comment and is dropped (llama-swap does this too, before
///    macros are expanded, so a macro named in a comment is never an error).
/// 2. A line ending in `\` (trailing blanks ignored) continues on the next line; the `\` becomes a space, as in
///    llama-swap (so `--port \` + `8080` gives two words).
/// 3. Words are separated by blanks and line breaks. `'…'` keeps everything literally. `"…"` keeps everything but
///    lets `\` escape `"`, `\`, `$` and `` ` ``. Outside quotes `\` escapes any character. A `#` that starts a
///    word begins a comment up to the end of the line. `''` or `""` alone is an empty argument.
/// Nothing else is special: no variables, globs, pipes or redirections — they arrive as literal arguments.
public enum CommandLineSplitter {
    /// Why a command cannot be split, with the 1-based line and column inside the command text.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong, in words a user can act on.
        public var message: String
        /// 1-based line inside the command text (comment lines count, so it matches the file).
        public var line: Int
        /// 1-based column inside that line.
        public var column: Int

        /// The message with its position, for the loader to put after `file:line:column:` of the `cmd` value.
        public var description: String { "line \(line), column \(column) of the command: \(message)" }
    }

    /// Drops comment lines (rule 1) and keeps the others unchanged, so that macros can be expanded afterwards.
    public static func strippingCommentLines(_ text: String) -> String {
        text.split(omittingEmptySubsequences: false, whereSeparator: isLineBreak)
            .filter { !$0.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("#") }
            .joined(separator: "\n")
    }

    /// Splits `text` into arguments by rules 1–3. An empty result means the command has no words at all.
    public static func split(_ text: String) throws(Failure) -> [String] {
        let chars = positionedCharacters(text)
        var words: [String] = []
        var current = ""
        var inWord = false
        var index = 0

        func endWord() {
            if inWord { words.append(current) }
            current = ""
            inWord = false
        }

        while index < chars.count {
            let (character, line, column) = chars[index]
            index += 1
            switch character {
            case " ", "\t", "\n", "\r", "\r\n":
                endWord()
            case "#" where !inWord:
                while index < chars.count, chars[index].character != "\n" { index += 1 }
            case "\\":
                inWord = true
                guard index < chars.count else { break }  // a lone trailing backslash means nothing
                let next = chars[index].character
                index += 1
                if next != "\n" { current.append(next) }
            case "'":
                inWord = true
                guard let close = chars[index...].firstIndex(where: { $0.character == "'" }) else {
                    throw Failure(message: "the single quote opened here is never closed", line: line, column: column)
                }
                current.append(contentsOf: chars[index..<close].map(\.character))
                index = close + 1
            case "\"":
                inWord = true
                var closed = false
                while index < chars.count {
                    let inner = chars[index].character
                    index += 1
                    if inner == "\"" {
                        closed = true
                        break
                    }
                    if inner == "\\", index < chars.count {
                        let next = chars[index].character
                        index += 1
                        switch next {
                        case "\"", "\\", "$", "`": current.append(next)
                        case "\n": break
                        default:
                            current.append("\\")
                            current.append(next)
                        }
                    } else {
                        current.append(inner)
                    }
                }
                if !closed {
                    throw Failure(message: "the double quote opened here is never closed", line: line, column: column)
                }
            default:
                inWord = true
                current.append(character)
            }
        }
        endWord()
        return words
    }

    /// LF or CRLF (one `Character` in Swift, so splitting on "\n" alone would miss it).
    private static func isLineBreak(_ character: Character) -> Bool { character == "\n" || character == "\r\n" }

    /// The characters left after rules 1 and 2, each with its 1-based line and column in `text`.
    private static func positionedCharacters(_ text: String) -> [(character: Character, line: Int, column: Int)] {
        var result: [(character: Character, line: Int, column: Int)] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: isLineBreak).enumerated() {
            var line = Substring(raw)
            if line.last == "\r" { line.removeLast() }
            if line.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("#") { continue }
            var trimmed = line
            while let last = trimmed.last, last == " " || last == "\t" { trimmed.removeLast() }
            let continues = trimmed.last == "\\"
            let kept = continues ? trimmed.dropLast() : line
            var column = 0
            for character in kept {
                column += 1
                result.append((character, index + 1, column))
            }
            result.append((continues ? " " : "\n", index + 1, column + 1))
        }
        return result
    }
}
