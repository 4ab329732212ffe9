import Foundation

/// `logdiag rules new --from FILE:LINE`: a rule skeleton from one log line, so a failure no rule
/// knows becomes a rule in one step. The line's template gives the pattern (each masked part a
/// named capture), its longest fixed run the literal, the line itself the match sample.
public struct RuleSkeleton: Sendable {
    public let id: String
    public let yaml: String
    public let template: String

    /// Builds the skeleton for an event: its message (what patterns see), the payload line (the
    /// sample), its severity and component.
    public init(message: UnsafeBufferPointer<UInt8>, sampleLine whole: String, severity: Severity, component: Component?,
                origin: String) {
        // A sample is one line: a stack trace or joined record keeps its first.
        let sampleLine = whole.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? whole
        var out: [UInt8] = []
        var parts: [TemplateMasker.MaskedPart] = []
        let covered = withUnsafeMutablePointer(to: &parts) { TemplateMasker().mask(message, into: &out, parts: $0) }
        template = String(decoding: out, as: UTF8.self)

        // Fixed runs between the masked parts, and the pattern built from both.
        var pieces: [String] = []
        var fixed: [String] = []
        var names: [String: Int] = [:]
        var at = 0
        func literalRun(_ from: Int, _ to: Int) {
            guard to > from else { return }
            let text = String(decoding: UnsafeBufferPointer(rebasing: message[from..<to]), as: UTF8.self)
            fixed.append(text)
            pieces.append(RuleSkeleton.escape(text))
        }
        for p in parts.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) where p.range.lowerBound >= at {
            literalRun(at, p.range.lowerBound)
            let base: String
            switch p.mask {
            case .any: base = "value"
            case .duration: base = "duration"
            default: base = p.mask.rawValue
            }
            let n = (names[base] ?? 0) + 1
            names[base] = n
            // A lazy capture with nothing after it would match one byte: the last one is greedy.
            let last = p.range.upperBound >= min(covered, message.count)
            let regex = last && (p.mask == .any || p.mask == .name) ? #"\S+"# : p.mask.regex
            pieces.append("(?<\(n == 1 ? base : base + String(n))>\(regex))")
            at = p.range.upperBound
        }
        literalRun(at, min(covered, message.count))
        let pattern = pieces.joined()
        let literal = fixed.map { $0.trimmingCharacters(in: .whitespaces) }.max { $0.utf8.count < $1.utf8.count } ?? template

        let words = fixed.joined(separator: " ").lowercased().split { !$0.isLetter }.prefix(4).map(String.init)
        id = "local." + (words.isEmpty ? "new-rule" : words.joined(separator: "-"))
        let noMatch = sampleLine.replacingOccurrences(of: literal, with: "something else entirely")
        func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }
        var y = "# Made by `logdiag rules new` from \(origin).\n"
        y += "# Template: \(template)\n"
        y += "# Fill in the title, cause, fix and references, tighten the pattern, then check it:\n"
        y += "#   logdiag rules check THIS-FILE\n"
        y += "rules:\n"
        y += "  - id: \(id)\n"
        y += "    title: \(q("TODO: what is wrong, in one line (" + template.prefix(60) + ")"))\n"
        y += "    severity: \(severity >= .error ? severity.description : "error")\n"
        y += "    confidence: medium\n"
        y += "    match:\n"
        y += "      literals: [\(q(literal))]\n"
        y += "      pattern: \(q(pattern))\n"
        if let c = component { y += "      component: [\(c.name)]\n" }
        y += "    cause: >-\n      TODO: why this happens.\n"
        y += "    fix: >-\n      TODO: how to fix it.\n"
        y += "    references:\n      - 'TODO (the issue thread or documentation that explains it)'\n"
        y += "    samples:\n"
        y += "      match:\n        - \(q(sampleLine))\n"
        y += "      no-match:\n        - \(q(noMatch))\n"
        yaml = y
    }

    /// `text` as a PCRE2 pattern that matches it literally.
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            if "\\^$.|?*+()[]{}".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }
}
