/// A report ready to paste into an issue or a ticket.
public struct MarkdownRenderer {
    public init() {}

    /// A fenced block whose fence is longer than any run of backticks inside it, so no log line
    /// can close it; every line made printable first.
    func fence(_ lines: [String]) -> String {
        let body = lines.map(TerminalSafe.escape).joined(separator: "\n")
        var longest = 0, run = 0
        for c in body.utf8 {
            run = c == 0x60 ? run + 1 : 0
            longest = max(longest, run)
        }
        let ticks = String(repeating: "`", count: max(3, longest + 1))
        return "\(ticks)text\n\(body)\n\(ticks)\n"
    }

    func cell(_ s: String) -> String { TerminalSafe.escape(s).replacingOccurrences(of: "|", with: "\\|") }

    /// Inline text from a log: printable, and without characters that would start Markdown markup.
    func inline(_ s: String) -> String {
        var out = ""
        for c in TerminalSafe.escape(s) {
            if "\\`*_[]<>#|".contains(c) { out.append("\\") }
            out.append(c)
        }
        return out
    }

    public func render(_ report: Report, inputs: [InputSummary] = []) -> String {
        let r = report.results
        var out = "## logdiag: "
        let u = report.unrecognised.count
        if report.incidents.isEmpty {
            out += u > 0 ? "no known failure found, but \(u) kind\(u == 1 ? "" : "s") of error no rule recognises\n\n"
                : "no known failure found, and no error-level line went unexplained\n\n"
        } else {
            out += "\(report.incidents.count) incident\(report.incidents.count == 1 ? "" : "s"), most important first"
            out += u > 0 ? "; \(u) kind\(u == 1 ? "" : "s") of error no rule recognises\n\n" : "\n\n"
        }
        for (k, i) in report.incidents.enumerated() {
            let f = i.cause
            out += "### \(k + 1). \(f.severity.description.uppercased()): \(TerminalSafe.escape(f.title))\n\n"
            out += "Rule `\(f.rule.id)`, \(f.finding.count) line\(f.finding.count == 1 ? "" : "s")"
            if let a = f.finding.first, let b = f.finding.last { out += a == b ? ", at \(a.rfc3339)" : ", \(a.rfc3339) to \(b.rfc3339)" }
            out += ".\n\n**Cause.** \(TerminalSafe.escape(f.cause))\n\n"
            out += "**Fix\(f.fixCondition.map { " (\($0))" } ?? "").** \(TerminalSafe.escape(f.fix))\n\n"
            if f.destructive {
                out += "**Destructive:** this removes data. Check first: \(TerminalSafe.escape(f.checkFirst ?? ""))\n\n"
            }
            if !f.otherFixes.isEmpty {
                out += "Other possible fixes:\n\n"
                for o in f.otherFixes {
                    out += "- \(o.condition == "otherwise" ? "Otherwise" : "If " + TerminalSafe.escape(o.condition))\(o.destructive ? " (destructive; check first: \(TerminalSafe.escape(o.checkFirst ?? "")))" : ""): \(TerminalSafe.escape(o.fix))\n"
                }
                out += "\n"
            }
            out += "Evidence:\n\n" + fence(f.finding.evidence.map { "\($0.input):\($0.line)\($0.quoted ? " (quoted)" : "")  \($0.text)" }) + "\n"
            if !i.explained.isEmpty {
                out += "Explains:\n\n"
                for e in i.explained {
                    let ev = e.finding.evidence.first.map { " — \(inline($0.input)):\($0.line)" } ?? ""
                    out += "- \(e.severity.description.uppercased()) \(TerminalSafe.escape(e.title)) (`\(e.rule.id)`, \(e.finding.count)×)\(ev)\n"
                }
                out += "\n"
            }
            if !f.rule.references.isEmpty {
                out += "References: " + f.rule.references.map { "<\($0)>" }.joined(separator: ", ") + "\n\n"
            }
        }
        if !report.unrecognised.isEmpty {
            out += "### Not recognised (no rule knows these; the first is the most likely cause)\n\n"
            for (k, g) in report.unrecognised.enumerated() {
                out += "\(k + 1). **\(g.severity.description.uppercased())** \(g.component.map { "\($0.name), " } ?? "")"
                out += "\(g.count) line\(g.count == 1 ? "" : "s")"
                if let a = g.first, let b = g.last { out += a == b ? ", at \(a.rfc3339)" : ", \(a.rfc3339) to \(b.rfc3339)" }
                out += "\n\n" + fence(["template: " + g.template] + g.evidence.map { "\($0.input):\($0.line)  \($0.text)" })
                    .split(separator: "\n", omittingEmptySubsequences: false).map { "   " + $0 }.joined(separator: "\n") + "\n"
            }
        }
        if !report.belowThreshold.isEmpty {
            out += "#### Below threshold (seen, but fewer times than the rule needs)\n\n| seen | what | rule | threshold |\n|---:|---|---|---|\n"
            for f in report.belowThreshold {
                out += "| \(f.finding.count) | \(cell(f.title)) | `\(f.rule.id)` | \(cell(f.rule.threshold?.text ?? "")) |\n"
            }
            out += "\n"
        }
        if !report.noise.isEmpty {
            out += "#### Known noise (harmless)\n\n| lines | what | rule |\n|---:|---|---|\n"
            for n in report.noise { out += "| \(n.count) | \(cell(n.rule.title)) | `\(n.rule.id)` |\n" }
            out += "\n"
        }
        if inputs.count > 1 {
            out += "#### Inputs\n\n| file | format | lines | from | to | findings |\n|---|---|---:|---|---|---:|\n"
            for i in inputs {
                let fmt = i.problem ?? (i.unknownFormat ? "unknown" : i.format)
                out += "| \(cell(i.name)) | \(cell(fmt)) | \(i.lines) | \(i.first?.rfc3339 ?? "") | \(i.last?.rfc3339 ?? "") | \(report.findingCount(in: i.name)) |\n"
            }
            out += "\n"
        }
        out += "_Read \(r.lines) lines from \(max(r.inputs.count, inputs.count)) input(s); \(r.noiseLines) known noise. Generated by logdiag._\n"
        return out
    }
}
