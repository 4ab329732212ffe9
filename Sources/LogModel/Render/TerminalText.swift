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
