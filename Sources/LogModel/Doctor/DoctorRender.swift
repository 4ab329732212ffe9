import Foundation

/// `logdiag doctor` for people: one line per check, and for each warning or failure why it
/// matters, the log line it would cause (with the rule that explains it) and the fix.
public struct DoctorTextRenderer: Sendable, TerminalText {
    public var color: Bool
    public var width: Int

    public init(color: Bool = false, width: Int = 100) {
        self.color = color
        self.width = max(60, width)
    }

    func badge(_ s: CheckStatus) -> String {
        let label = s.rawValue.uppercased().padding(toLength: 4, withPad: " ", startingAt: 0)
        switch s {
        case .fail: return paint(label, "1;31")
        case .warn: return paint(label, "1;33")
        case .pass: return paint(label, "32")
        case .skip: return paint(label, "2")
        }
    }


    public func render(_ report: DoctorReport) -> String {
        var out = paint("logdiag doctor", "1") + ": " + report.target + "\n"
        if !report.assumptions.isEmpty { out += wrap("Assuming " + report.assumptions.joined(separator: "; ") + ".", indent: 2, first: 0) + "\n" }
        out += "\n"
        let idWidth = min(24, report.checks.map(\.id.count).max() ?? 0)
        let pad = String(repeating: " ", count: 6)
        for c in report.checks {
            let id = c.id.padding(toLength: max(idWidth, c.id.count), withPad: " ", startingAt: 0)
            let head = "\(badge(c.status))  \(paint(id, "1"))  "
            let headWidth = 6 + max(idWidth, c.id.count) + 2
            out += head + wrap(c.found, indent: headWidth, first: headWidth) + "\n"
            guard c.status == .fail || c.status == .warn || (c.status == .skip && !c.commands.isEmpty) else { continue }
            if !c.why.isEmpty { out += pad + "why  " + wrap(c.why, indent: 11, first: 11) + "\n" }
            if let l = c.logLine {
                out += pad + "log  " + paint(l, "2") + "\n"
                if !c.rules.isEmpty { out += pad + "     explained by " + c.rules.joined(separator: ", ") + " (logdiag rules show ID)\n" }
            } else if !c.rules.isEmpty {
                out += pad + "rule " + c.rules.joined(separator: ", ") + "\n"
            }
            if let f = c.fix { out += pad + "fix  " + wrap(f, indent: 11, first: 11) + "\n" }
            for cmd in c.commands {
                out += pad + "  $ " + paint(cmd, "36") + "\n"
            }
            for d in c.details where c.status == .fail || c.status == .warn {
                if d.hasSuffix(": loaded") || d.contains(": built into the kernel") || d.contains(": present") { continue }
                out += pad + "- " + wrap(d, indent: 8, first: 8) + "\n"
            }
        }
        let s = report.summary
        out += "\n\(s.checks) checks: \(s.pass) pass, \(s.warn) warn, \(s.fail) fail, \(s.skip) skipped"
        let skipped = report.skipped.map(\.id)
        if !skipped.isEmpty { out += " (could not run: " + skipped.joined(separator: ", ") + ")" }
        out += "\n"
        return out
    }
}

/// `logdiag doctor --output markdown`: a table, then a section for every warning and failure.
public struct DoctorMarkdownRenderer: Sendable {
    public init() {}

    func cell(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    public func render(_ report: DoctorReport) -> String {
        let s = report.summary
        var out = "## logdiag doctor: \(report.target)\n\n"
        out += "\(s.checks) checks: \(s.pass) pass, \(s.warn) warn, \(s.fail) fail, \(s.skip) skipped.\n"
        if !report.assumptions.isEmpty { out += "Assuming " + report.assumptions.joined(separator: "; ") + ".\n" }
        out += "\n| status | check | found |\n|---|---|---|\n"
        for c in report.checks {
            out += "| \(c.status.rawValue.uppercased()) | `\(c.id)` | \(cell(c.found)) |\n"
        }
        for c in report.checks where c.status == .fail || c.status == .warn {
            out += "\n### \(c.status.rawValue.uppercased()): \(c.title) (`\(c.id)`)\n\n"
            out += "**Found.** \(c.found)\n\n"
            if !c.why.isEmpty { out += "**Why.** \(c.why)\n\n" }
            if let l = c.logLine {
                let ticks = l.contains("```") ? "````" : "```"
                out += "Otherwise the log shows" + (c.rules.isEmpty ? "" : " (rule " + c.rules.map { "`\($0)`" }.joined(separator: ", ") + ")") + ":\n\n\(ticks)text\n\(l)\n\(ticks)\n\n"
            }
            if let f = c.fix { out += "**Fix.** \(f)\n\n" }
            if !c.commands.isEmpty { out += "```sh\n" + c.commands.joined(separator: "\n") + "\n```\n\n" }
            let notes = c.details.filter { !$0.hasSuffix(": loaded") && !$0.contains(": built into the kernel") && !$0.contains(": present") }
            if !notes.isEmpty { out += notes.map { "- \($0)\n" }.joined() }
        }
        return out
    }
}
