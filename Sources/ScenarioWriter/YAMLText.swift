import Foundation

/// How the recorder writes text and bytes into a scenario file so that the parser reads back exactly the same.
///
/// YAML double-quoted scalars can hold any Unicode text on one line when everything that is not printable is
/// escaped; libyaml also treats `\r`, NEL, U+2028 and U+2029 as line breaks, so those are always escaped. Bytes
/// that are not valid UTF-8 cannot be text at all and become `{base64: …}`.
public enum YAMLText {
    /// `text` as a one-line YAML double-quoted scalar, quotes included.
    public static func doubleQuoted(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            case "\u{1B}": out += "\\e"
            default:
                if isPrintable(scalar) {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value <= 0xFF {
                    out += "\\x" + hex(scalar.value, width: 2)
                } else if scalar.value <= 0xFFFF {
                    out += "\\u" + hex(scalar.value, width: 4)
                } else {
                    out += "\\U" + hex(scalar.value, width: 8)
                }
            }
        }
        return out + "\""
    }

    /// A scenario bytes value: a double-quoted string when `bytes` are valid UTF-8, else `{base64: "…"}`.
    public static func bytes(_ bytes: [UInt8]) -> String {
        if let text = String(validating: bytes, as: UTF8.self) {
            return doubleQuoted(text)
        }
        return "{base64: \"\(Data(bytes).base64EncodedString())\"}"
    }

    /// `text` as YAML comment lines (`# ` prefixed), one per line of the text; characters that YAML would read as a
    /// line break or that a terminal would act on are shown escaped, so a comment can never end early.
    public static func comment(_ text: String, indent: String = "") -> [String] {
        var lines: [String] = []
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var out = ""
            for scalar in line.unicodeScalars {
                if scalar == "\t" || (isPrintable(scalar) && scalar.value != 0xFEFF) {
                    out.unicodeScalars.append(scalar)
                } else {
                    out +=
                        scalar.value <= 0xFFFF
                        ? "\\u" + hex(scalar.value, width: 4) : "\\U" + hex(scalar.value, width: 8)
                }
            }
            lines.append(indent + (out.isEmpty ? "#" : "# " + out))
        }
        return lines
    }

    /// YAML 1.1's printable set without the line breaks, NEL and the byte-order mark.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20...0x7E: return true
        case 0xA0...0xD7FF: return scalar.value != 0x2028 && scalar.value != 0x2029
        case 0xE000...0xFFFD: return scalar.value != 0xFEFF
        case 0x10000...0x10FFFF: return true
        default: return false
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
