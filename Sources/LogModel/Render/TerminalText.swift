/// Colour and word wrapping for the renderers that write for people on a terminal.
protocol TerminalText {
    /// ANSI colour on or off (a terminal, `--color`, `NO_COLOR` decide).
    var color: Bool { get }
    /// Columns to wrap to.
    var width: Int { get }
}

extension TerminalText {
    /// `s` in the SGR colour `code` when colour is on.
    func paint(_ s: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }

    /// Wraps `text` at spaces to the width: the first line has `first` columns taken already, the
    /// others are indented by `indent`.
    func wrap(_ text: String, indent: Int, first: Int) -> String {
        var lines: [String] = []
        var current = ""
        var limit = width - first
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            if !current.isEmpty, current.count + 1 + word.count > limit {
                lines.append(current)
                current = ""
                limit = width - indent
            }
            current += current.isEmpty ? String(word) : " " + word
        }
        if !current.isEmpty { lines.append(current) }
        return lines.joined(separator: "\n" + String(repeating: " ", count: indent))
    }
}

/// Text from logs and file names made safe for a terminal or a Markdown report: C0 and C1
/// control characters (ESC, CR, BS, a newline inside a record), DEL and the Unicode bidi and
/// line-separator controls are shown escaped (`\x1b`, `\r`, `\n`, `\u{202e}`), so a log line can
/// neither move the cursor, retitle the terminal, reorder what is shown, nor start a report line
/// of its own.
public enum TerminalSafe {
    public static func escape(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: needsEscape) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for u in s.unicodeScalars {
            guard needsEscape(u) else { out.unicodeScalars.append(u); continue }
            switch u {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                out += u.value < 0x100 ? "\\x" + hex(u.value, 2) : "\\u{" + hex(u.value, 4) + "}"
            }
        }
        return out
    }

    static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) { return true }
        // Bidi embeddings, overrides and isolates; marks; line and paragraph separators.
        return (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F
            || v == 0x061C || v == 0x2028 || v == 0x2029
    }

    static func hex(_ v: UInt32, _ width: Int) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - h.count)) + h
    }
}

extension TerminalText {
    /// Log-derived text as it may be printed (`TerminalSafe`).
    func safe(_ s: String) -> String { TerminalSafe.escape(s) }
}
