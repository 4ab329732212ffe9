import Foundation

/// One self-contained HTML page (`-o html`): the incidents with cause, fix and evidence, a
/// timeline drawn as static SVG (one lane per component, or per node and component), the lines
/// no rule knows, and the inputs. Inline CSS only; no script at all, and a Content-Security-Policy
/// that forbids any, so nothing from a log can run even if escaping failed. Expanding an evidence
/// line to the lines around it uses `<details>`, which works without JavaScript.
public struct HTMLRenderer {
    /// Lines around an evidence line (its number -> text), by input name; empty when unknown.
    public var context: [String: [Int: String]] = [:]
    public var title = "logdiag report"

    public init(context: [String: [Int: String]] = [:]) { self.context = context }

    /// Text from a log or a file name: printable first (control and bidi characters shown
    /// escaped), then HTML-escaped.
    static func h(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in TerminalSafe.escape(s).unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A rule's text with its `backticked` commands as `<code>` (escaped like everything else).
    static func prose(_ s: String) -> String {
        let parts = s.split(separator: "`", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return h(s) }
        var out = ""
        for (i, p) in parts.enumerated() {
            if i % 2 == 1 && i < parts.count - 1 { out += "<code>\(h(String(p)))</code>" } else {
                out += (i % 2 == 1 ? "`" : "") + h(String(p))
            }
        }
        return out
    }

    static func severityClass(_ s: Severity) -> String {
        switch s {
        case .fatal: "fatal"
        case .error: "error"
        case .warning: "warning"
        default: "info"
        }
    }

    public func render(_ report: Report, inputs: [InputSummary] = []) -> String {
        var out = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
            <title>\(HTMLRenderer.h(title))</title>
            <style>\(HTMLRenderer.css)</style>
            </head>
            <body>
            <header><h1>logdiag</h1><p class="headline">\(HTMLRenderer.h(headline(report)))</p>
            <p class="meta">Read \(report.results.lines) lines from \(report.results.inputs.count) input\(report.results.inputs.count == 1 ? "" : "s"), \(report.results.events) events, \(report.results.noiseLines) known noise.</p></header>
            <main>

            """
        out += Timeline(report: report).svg()
        for (k, incident) in report.incidents.enumerated() {
            out += finding(incident.cause, number: k + 1, explained: incident.explained)
        }
        out += unrecognised(report)
        if !report.belowThreshold.isEmpty {
            out += "<section id=\"below-threshold\"><h2>Below threshold</h2><p>Seen, but fewer times than the rule needs to call it a failure; normal in the first minutes after start-up, a problem if it persists.</p>\n"
            for f in report.belowThreshold {
                out += "<div class=\"finding minor\"><h3><span class=\"sev \(HTMLRenderer.severityClass(f.severity))\">\(f.severity.description.uppercased())</span> \(HTMLRenderer.h(f.title)) <span class=\"rule\">\(HTMLRenderer.h(f.rule.id))</span></h3>\n"
                out += evidence(f.finding.evidence) + "</div>\n"
            }
            out += "</section>\n"
        }
        if !report.noise.isEmpty {
            out += "<section id=\"noise\"><h2>Known noise</h2><p>Harmless lines, not causes.</p><table><thead><tr><th scope=\"col\">lines</th><th scope=\"col\">what</th><th scope=\"col\">rule</th></tr></thead><tbody>\n"
            for n in report.noise {
                out += "<tr><td class=\"num\">\(n.count)</td><td>\(HTMLRenderer.h(n.rule.title))</td><td class=\"rule\">\(HTMLRenderer.h(n.rule.id))</td></tr>\n"
            }
            out += "</tbody></table></section>\n"
        }
        if !inputs.isEmpty {
            out += "<section id=\"inputs\"><h2>Inputs</h2><table><thead><tr><th scope=\"col\">input</th><th scope=\"col\">format</th><th scope=\"col\">lines</th><th scope=\"col\">from</th><th scope=\"col\">to</th><th scope=\"col\">findings</th></tr></thead><tbody>\n"
            for i in inputs {
                if let p = i.problem {
                    out += "<tr><td class=\"path\">\(HTMLRenderer.h(i.name))</td><td colspan=\"5\" class=\"problem\">\(HTMLRenderer.h(p))</td></tr>\n"
                } else {
                    out += "<tr><td class=\"path\">\(HTMLRenderer.h(i.name))</td><td>\(HTMLRenderer.h(i.format))</td><td class=\"num\">\(i.lines)</td>"
                    out += "<td>\(i.first.map { HTMLRenderer.h($0.rfc3339) } ?? "-")</td><td>\(i.last.map { HTMLRenderer.h($0.rfc3339) } ?? "-")</td>"
                    out += "<td class=\"num\">\(report.findingCount(in: i.name))</td></tr>\n"
                }
            }
            out += "</tbody></table></section>\n"
        }
        out += "</main>\n<footer><p>Made by logdiag \(LogDiagVersion.current). Every line from a log is shown as text.</p></footer>\n</body>\n</html>\n"
        return out
    }

    /// `logdiag diff -o html`: what BAD has that GOOD lacks, as the same kind of page.
    public func render(_ d: LogDiff, top: Int = 10) -> String {
        let n = d.newFindings.count, u = d.novel.count
        var out = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
            <title>logdiag diff</title>
            <style>\(HTMLRenderer.css)</style>
            </head>
            <body>
            <header><h1>logdiag diff</h1><p class="headline">\(n) new finding\(n == 1 ? "" : "s") and \(u) new kind\(u == 1 ? "" : "s") of line in BAD</p>
            <p class="meta">\(d.shared) kinds of line are in both; GOOD read \(d.good.lines) lines, BAD \(d.bad.lines).</p></header>
            <main>

            """
        for (k, f) in d.newFindings.enumerated() { out += finding(f, number: k + 1, explained: []) }
        if !d.novel.isEmpty {
            out += "<section id=\"novel\"><h2>New kinds of line</h2><p>Templates BAD has and GOOD does not, the most likely cause first.</p>\n"
            for (k, g) in d.novel.prefix(top).enumerated() {
                let sev = HTMLRenderer.severityClass(g.severity)
                out += "<div class=\"finding unknown\"><h3>\(k + 1). <span class=\"sev \(sev)\">\(g.severity.description.uppercased())</span>, \(g.count) line\(g.count == 1 ? "" : "s")</h3>"
                out += "<p><strong>Template:</strong> <code>\(HTMLRenderer.h(g.template))</code></p>\n" + evidence(Array(g.evidence.prefix(3))) + "</div>\n"
            }
            if d.novel.count > top { out += "<p class=\"meta\">… and \(d.novel.count - top) more (-o json lists them all)</p>\n" }
            out += "</section>\n"
        }
        return out + "</main>\n<footer><p>Made by logdiag \(LogDiagVersion.current). Every line from a log is shown as text.</p></footer>\n</body>\n</html>\n"
    }

    func headline(_ report: Report) -> String {
        let u = report.unrecognisedErrors.count
        let kinds = "\(u) kind\(u == 1 ? "" : "s") of error no rule recognises"
        if !report.incidents.isEmpty {
            let n = report.incidents.count
            return "\(n) incident\(n == 1 ? "" : "s") found, most important first" + (u > 0 ? ", and \(kinds)" : "")
        }
        if u > 0 { return "No known failure found, but \(kinds); the first is the most likely cause" }
        return "No known failure found, and no error-level line went unexplained"
    }

    func finding(_ f: ReportedFinding, number: Int, explained: [ReportedFinding]) -> String {
        let sev = HTMLRenderer.severityClass(f.severity)
        var out = "<article class=\"incident \(sev)\" id=\"incident-\(number)\">\n"
        out += "<h2><span class=\"num\">\(number).</span> <span class=\"sev \(sev)\">\(f.severity.description.uppercased())</span> \(HTMLRenderer.h(f.title)) <span class=\"rule\">\(HTMLRenderer.h(f.rule.id))</span></h2>\n"
        var span = "\(f.finding.count) line\(f.finding.count == 1 ? "" : "s")"
        if let a = f.finding.first, let b = f.finding.last { span += a == b ? ", at \(a.rfc3339)" : ", \(a.rfc3339) to \(b.rfc3339)" }
        if f.rule.confidence != .high { span += ", confidence \(f.rule.confidence.rawValue)" }
        out += "<p class=\"meta\">\(HTMLRenderer.h(span))</p>\n"
        out += "<p><strong>Cause.</strong> \(HTMLRenderer.prose(f.cause))</p>\n"
        out += "<p class=\"fix\"><strong>Fix\(f.fixCondition.map { " (" + HTMLRenderer.h($0) + ")" } ?? "").</strong> \(HTMLRenderer.prose(f.fix))</p>\n"
        if f.destructive {
            out += "<p class=\"destructive\" role=\"note\"><strong>Destructive:</strong> this removes data. Check first: \(HTMLRenderer.prose(f.checkFirst ?? ""))</p>\n"
        }
        if !f.otherFixes.isEmpty {
            out += "<details class=\"other\"><summary>Other possible fixes (\(f.otherFixes.count))</summary><ul>\n"
            for o in f.otherFixes {
                let when = o.condition == "otherwise" ? "Otherwise" : "If " + HTMLRenderer.h(o.condition)
                out += "<li><strong>\(when)\(o.destructive ? " (destructive)" : ""):</strong> \(HTMLRenderer.prose(o.fix))"
                if o.destructive, let c = o.checkFirst { out += " <em>Check first: \(HTMLRenderer.prose(c))</em>" }
                out += "</li>\n"
            }
            out += "</ul></details>\n"
        }
        out += "<h3>Evidence</h3>\n" + evidence(f.finding.evidence)
        if f.finding.count > f.finding.evidence.count {
            out += "<p class=\"meta\">… and \(f.finding.count - f.finding.evidence.count) more</p>\n"
        }
        if !f.rule.references.isEmpty {
            out += "<h3>See</h3><ul class=\"refs\">\n"
            for r in f.rule.references where r.hasPrefix("https://") || r.hasPrefix("http://") {
                out += "<li><a href=\"\(HTMLRenderer.h(r))\" rel=\"noreferrer\">\(HTMLRenderer.h(r))</a></li>\n"
            }
            out += "</ul>\n"
        }
        if !explained.isEmpty {
            out += "<h3>Explains</h3>\n"
            for e in explained {
                let es = HTMLRenderer.severityClass(e.severity)
                out += "<div class=\"finding explained\"><h4><span class=\"sev \(es)\">\(e.severity.description.uppercased())</span> \(HTMLRenderer.h(e.title)) <span class=\"rule\">\(HTMLRenderer.h(e.rule.id))</span>, \(e.finding.count) line\(e.finding.count == 1 ? "" : "s")</h4>\n"
                out += evidence(Array(e.finding.evidence.prefix(3))) + "</div>\n"
            }
        }
        return out + "</article>\n"
    }

    /// Evidence lines; each opens to the lines around it in its input when they are known.
    func evidence(_ lines: [Evidence]) -> String {
        var out = "<ul class=\"evidence\">\n"
        for ev in lines {
            let loc = "<code class=\"loc\">\(HTMLRenderer.h(ev.input)):\(ev.line)\(ev.quoted ? " (quoted)" : "")</code>"
            let text = "<code class=\"line\">\(HTMLRenderer.h(ev.text))</code>"
            if let around = context[ev.input], !around.isEmpty {
                out += "<li><details><summary>\(loc) \(text)</summary><pre>"
                for n in around.keys.sorted() where abs(n - ev.line) <= 3 {
                    let mark = n == ev.line ? "<mark>" : ""
                    out += "\(mark)<span class=\"ln\">\(n)</span> \(HTMLRenderer.h(around[n]!))\(mark.isEmpty ? "" : "</mark>")\n"
                }
                out += "</pre></details></li>\n"
            } else {
                out += "<li>\(loc) \(text)</li>\n"
            }
        }
        return out + "</ul>\n"
    }

    func unrecognised(_ report: Report) -> String {
        let groups = report.unrecognisedShown
        guard !groups.isEmpty else { return "" }
        var out = "<section id=\"unrecognised\"><h2>Not recognised</h2><p>Lines no rule knows, grouped by template; the first is the most likely cause.</p>\n"
        for (k, g) in groups.enumerated() {
            let sev = HTMLRenderer.severityClass(g.severity)
            var head = "\(k + 1). <span class=\"sev \(sev)\">\(g.severity.description.uppercased())</span>"
            if let c = g.component { head += " \(HTMLRenderer.h(c.name))" }
            head += ", \(g.count) line\(g.count == 1 ? "" : "s")"
            if let t = g.first { head += ", at \(HTMLRenderer.h(t.rfc3339))" }
            out += "<div class=\"finding unknown\"><h3>\(head)</h3><p><strong>Template:</strong> <code>\(HTMLRenderer.h(g.template))</code></p>\n"
            out += evidence(Array(g.evidence.prefix(3))) + "</div>\n"
        }
        return out + "</section>\n"
    }

    static let css = """
        :root{--fatal:#b3261e;--error:#c4501b;--warning:#9a6700;--info:#476072;--unknown:#6f42c1;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--code:#f6f8fa}
        *{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
        header,main,footer{max-width:72rem;margin:0 auto;padding:0 1rem}header{padding-top:1rem;border-bottom:1px solid var(--line)}
        h1{font-size:1.3rem;margin:.2rem 0}.headline{font-size:1.1rem;font-weight:600;margin:.2rem 0}.meta{color:var(--muted);margin:.2rem 0}
        h2{font-size:1.15rem;margin:1.4rem 0 .4rem}h3{font-size:1rem;margin:.8rem 0 .3rem}h4{font-size:.95rem;margin:.5rem 0 .2rem}
        .incident{border-left:4px solid var(--line);padding:.2rem 0 .6rem 1rem;margin:1rem 0}.incident.fatal{border-color:var(--fatal)}.incident.error{border-color:var(--error)}.incident.warning{border-color:var(--warning)}
        .sev{display:inline-block;font-size:.75rem;font-weight:700;padding:0 .4rem;border-radius:3px;color:#fff;background:var(--info);vertical-align:middle}
        .sev.fatal{background:var(--fatal)}.sev.error{background:var(--error)}.sev.warning{background:var(--warning)}
        .rule{font:.8rem ui-monospace,SFMono-Regular,Menlo,monospace;color:var(--muted)}
        code,pre{font:.85rem ui-monospace,SFMono-Regular,Menlo,monospace}p code,li>strong+code{background:var(--code);padding:0 .2rem;border-radius:3px;user-select:all}
        .evidence{list-style:none;padding:0;margin:.2rem 0}.evidence li{margin:.2rem 0;overflow-wrap:anywhere}.evidence .loc{color:var(--muted);margin-right:.4rem}
        .evidence summary{cursor:pointer}.evidence summary:focus-visible,a:focus-visible{outline:2px solid #0969da;outline-offset:2px}
        pre{background:var(--code);padding:.5rem;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0}pre mark{background:#fff8c5;display:block}.ln{color:var(--muted);display:inline-block;min-width:3.5em}
        .fix{background:#f0f7f0;padding:.4rem .6rem;border-radius:4px}.destructive{background:#fff1f0;border:1px solid var(--fatal);padding:.4rem .6rem;border-radius:4px}
        .finding.explained,.finding.unknown,.finding.minor{margin-left:.5rem;padding-left:.8rem;border-left:2px solid var(--line)}.finding.unknown{border-color:var(--unknown)}
        table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border-bottom:1px solid var(--line);padding:.25rem .4rem;text-align:left;vertical-align:top}td.num{text-align:right}td.path{overflow-wrap:anywhere}td.problem{color:var(--error)}
        #timeline{margin:1rem 0;overflow-x:auto}#timeline svg{width:100%;min-width:36rem;height:auto;font:11px system-ui,sans-serif}
        .lane-label{fill:var(--muted)}.lane{stroke:var(--line)}.mark.fatal{fill:var(--fatal)}.mark.error{fill:var(--error)}.mark.warning{fill:var(--warning)}.mark.info{fill:var(--info)}.mark.unknown{fill:var(--unknown)}
        .mark.cause{stroke:#000;stroke-width:1.5}.join{stroke:var(--fatal);stroke-width:1.2;stroke-dasharray:4 3;fill:none}.axis{fill:var(--muted)}
        footer{color:var(--muted);font-size:.85rem;border-top:1px solid var(--line);margin-top:2rem}
        @media (max-width:40rem){body{font-size:14px}.incident{padding-left:.6rem}}
        @media print{.evidence details>pre{display:block}details{break-inside:avoid}.incident{break-inside:avoid-page}a{color:inherit}}
        """
}

/// The incident as a picture: time across, one lane per component (per node and component when
/// there are several nodes), a mark per evidence line, the root cause joined to what it explains.
struct Timeline {
    let report: Report

    struct Mark {
        let lane: String
        let time: Timestamp
        let cls: String
        let label: String
        let cause: Bool
        let incident: Int?
    }

    func laneName(_ input: String, _ component: Component?) -> String {
        let node = Report.nodeScope(input)
        return node.isEmpty ? (component?.name ?? "unknown") : "\(component?.name ?? "unknown") · \((node as NSString).lastPathComponent)"
    }

    func marks() -> [Mark] {
        var out: [Mark] = []
        let multiNode = Set(report.results.inputs.map(Report.nodeScope)).count > 1
        func lane(_ ev: Evidence, _ c: Component?) -> String { multiNode ? laneName(ev.input, c) : (c?.name ?? "unknown") }
        for (k, i) in report.incidents.enumerated() {
            for (n, f) in ([i.cause] + i.explained).enumerated() {
                for ev in f.finding.evidence {
                    guard let t = ev.time else { continue }
                    out.append(Mark(lane: lane(ev, f.finding.component ?? Component(name: f.rule.components.first ?? "")),
                                    time: t, cls: HTMLRenderer.severityClass(f.severity),
                                    label: "\(f.rule.id) at \(t.rfc3339): \(ev.text)", cause: n == 0, incident: k))
                }
            }
        }
        for g in report.unrecognisedShown {
            for ev in g.evidence {
                guard let t = ev.time else { continue }
                out.append(Mark(lane: lane(ev, g.component), time: t, cls: "unknown",
                                label: "not recognised at \(t.rfc3339): \(ev.text)", cause: false, incident: nil))
            }
        }
        return out
    }

    func svg() -> String {
        let all = marks()
        guard let lo = all.map(\.time.nanos).min(), let hi = all.map(\.time.nanos).max() else {
            return "<section id=\"timeline\" aria-label=\"Timeline\"><h2>Timeline</h2><p class=\"meta\">No evidence line carries a time.</p></section>\n"
        }
        // Lanes in order of their first mark: the component that failed first is on top.
        var lanes: [String] = []
        for m in all.sorted(by: { ($0.time, $0.lane) < ($1.time, $1.lane) }) where !lanes.contains(m.lane) { lanes.append(m.lane) }
        let left = 170.0, width = 900.0, laneH = 28.0, top = 24.0
        let height = top + Double(lanes.count) * laneH + 30
        let span = Double(max(hi - lo, 1))
        func x(_ t: Timestamp) -> Double { left + 10 + (Double(t.nanos - lo) / span) * (width - left - 30) }
        func y(_ lane: String) -> Double { top + Double(lanes.firstIndex(of: lane)!) * laneH + laneH / 2 }
        var out = "<section id=\"timeline\" aria-label=\"Timeline\"><h2>Timeline</h2>\n"
        out += "<svg id=\"timeline-svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"Evidence over time, one lane per component\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        for l in lanes {
            out += "<line class=\"lane\" x1=\"\(Int(left))\" y1=\"\(y(l))\" x2=\"\(Int(width - 10))\" y2=\"\(y(l))\"/>"
            out += "<text class=\"lane-label\" x=\"\(Int(left - 8))\" y=\"\(y(l) + 4)\" text-anchor=\"end\">\(HTMLRenderer.h(String(l.prefix(28))))</text>\n"
        }
        // Joins: each incident's cause to what it explains.
        var byIncident: [Int: [Mark]] = [:]
        for m in all { if let k = m.incident { byIncident[k, default: []].append(m) } }
        for k in byIncident.keys.sorted() {
            let ms = byIncident[k]!
            guard let cause = ms.filter(\.cause).min(by: { $0.time < $1.time }) else { continue }
            var joined = Set<String>()
            for m in ms.sorted(by: { $0.time < $1.time }) where !m.cause && !joined.contains(m.lane + m.label) {
                joined.insert(m.lane + m.label)
                out += "<path class=\"join\" d=\"M\(x(cause.time)),\(y(cause.lane)) L\(x(m.time)),\(y(m.lane))\"/>\n"
            }
        }
        for m in all {
            let r = m.cause ? 6 : 4
            out += "<circle class=\"mark \(m.cls)\(m.cause ? " cause" : "")\" cx=\"\(x(m.time))\" cy=\"\(y(m.lane))\" r=\"\(r)\"><title>\(HTMLRenderer.h(String(m.label.prefix(300))))</title></circle>\n"
        }
        out += "<text class=\"axis\" x=\"\(Int(left))\" y=\"\(Int(height - 8))\">\(HTMLRenderer.h(Timestamp(nanos: lo).rfc3339))</text>"
        out += "<text class=\"axis\" x=\"\(Int(width - 10))\" y=\"\(Int(height - 8))\" text-anchor=\"end\">\(HTMLRenderer.h(Timestamp(nanos: hi).rfc3339))</text>\n"
        out += "</svg></section>\n"
        return out
    }
}

extension HTMLRenderer {
    /// The lines around every evidence line of `report`, a few each side, read again from where
    /// they came from: a file on disk, standard input when it is a file (`< kube-proxy.log`), or a
    /// member of an archive or compressed file (one more streaming pass with `packed`, bounded by
    /// what the first pass read). A pipe cannot be read twice: its evidence has no context. Each
    /// line is cut at 4,000 characters.
    public static func contextLines(for report: Report, radius: Int = 3,
                                    packed: (any PackedReading)? = nil) -> [String: [Int: String]] {
        var wanted: [String: Set<Int>] = [:]
        var evidence = report.incidents.flatMap { [$0.cause] + $0.explained }.flatMap(\.finding.evidence)
        evidence += report.unrecognisedShown.flatMap(\.evidence) + report.belowThreshold.flatMap(\.finding.evidence)
        for ev in evidence {
            for n in max(1, ev.line - radius)...(ev.line + radius) { wanted[ev.input, default: []].insert(n) }
        }
        var out: [String: [Int: String]] = [:]
        /// Archives on disk and the members of each whose lines are wanted.
        var archives: [String: [String: Set<Int>]] = [:]
        for (name, lines) in wanted {
            if name == "<stdin>" {
                var st = stat()
                guard fstat(0, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, lseek(0, 0, SEEK_SET) == 0 else { continue }
                var source = FileDescriptorSource(fd: 0, name: name)
                out[name] = collect(lines, from: &source)
                continue
            }
            if let source = try? FileDescriptorSource.open(path: name) {
                defer { close(source.fd) }
                switch InputKind.detect(fd: source.fd) {
                case .text:
                    var s = source
                    out[name] = collect(lines, from: &s)
                    continue
                case let kind where kind.isPacked:
                    archives[name, default: [:]][""] = lines  // a bare compressed file
                    continue
                default:
                    continue
                }
            }
            // `bundle.tgz:node1/rke/containerlogs/etcd`: the longest prefix that is a file.
            var cut = name.endIndex
            while let colon = name[..<cut].lastIndex(of: ":") {
                let path = String(name[..<colon])
                if FileManager.default.fileExists(atPath: path) {
                    archives[path, default: [:]][String(name[name.index(after: colon)...])] = lines
                    break
                }
                cut = colon
            }
        }
        if let packed {
            let limits = UnpackLimits(maxBytes: max(1 << 20, report.results.bytes))
            for (path, members) in archives.sorted(by: { $0.key < $1.key }) {
                _ = try? packed.read(path: path, limits: limits, member: { (member, _, source) throws(InputError) in
                    guard let lines = members[member] else { return }
                    out[member.isEmpty ? path : "\(path):\(member)"] = collect(lines, from: &source)
                }, skipped: { _, _ in })
            }
        }
        return out
    }

    /// Lines `lines` (1-based) of `source`, read up to the last of them.
    static func collect<S: ByteSource>(_ lines: Set<Int>, from source: inout S) -> [Int: String] {
        let last = lines.max() ?? 0
        var got: [Int: String] = [:]
        var reader = LineReader(source: source, capacity: 64 << 10, maxLineBytes: 1 << 20)
        while reader.lineNumber < last, let line = try? reader.next() {
            // A piece of a line longer than the reader's limit keeps the number of its line.
            if lines.contains(reader.lineNumber), got[reader.lineNumber] == nil {
                got[reader.lineNumber] = String(decoding: UnsafeBufferPointer(rebasing: line.prefix(4000)), as: UTF8.self)
            }
        }
        return got
    }
}
