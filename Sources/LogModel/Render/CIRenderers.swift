import Foundation

/// SARIF 2.1.0 for code-scanning style CI systems: one result per finding, located at its evidence lines.
public struct SARIFRenderer {
    public init() {}

    static func level(_ s: Severity) -> String {
        switch s { case .fatal, .error: "error"; case .warning: "warning"; default: "note" }
    }

    public func render(_ report: Report) -> String {
        let findings = report.allReported
        var rules: [[String: Any]] = []
        var seen = Set<String>()
        for f in findings where !seen.contains(f.rule.id) {
            seen.insert(f.rule.id)
            var rule: [String: Any] = [
                "id": f.rule.id, "name": f.rule.id,
                "shortDescription": ["text": f.title],
                "fullDescription": ["text": f.rule.cause],
                "help": ["text": f.rule.fix],
                "defaultConfiguration": ["level": SARIFRenderer.level(f.severity)],
            ]
            if let uri = f.rule.references.first { rule["helpUri"] = uri }
            rules.append(rule)
        }
        if !report.unrecognised.isEmpty {
            rules.append([
                "id": "logdiag.unrecognised", "name": "logdiag.unrecognised",
                "shortDescription": ["text": "An error-level line that no rule recognises"],
                "fullDescription": ["text": "Error-level lines no rule explained, grouped by template; the first is the most likely cause."],
                "help": ["text": "Read the evidence lines; turn a recurring one into a rule with `logdiag rules new --from FILE:LINE`."],
                "defaultConfiguration": ["level": "error"],
            ])
        }
        var results: [[String: Any]] = findings.map { f in
            [
                "ruleId": f.rule.id,
                "level": SARIFRenderer.level(f.severity),
                "message": ["text": "\(f.title). \(f.cause) Fix: \(f.fix)"],
                "locations": f.finding.evidence.map { ev in
                    ["physicalLocation": ["artifactLocation": ["uri": ev.input], "region": ["startLine": ev.line]]]
                },
                "properties": ["count": f.finding.count],
            ]
        }
        for g in report.unrecognised {
            results.append([
                "ruleId": "logdiag.unrecognised",
                "level": SARIFRenderer.level(g.severity),
                "message": ["text": "Not recognised: \(g.template) (\(g.count) line\(g.count == 1 ? "" : "s"))"],
                "locations": g.evidence.map { ev in
                    ["physicalLocation": ["artifactLocation": ["uri": ev.input], "region": ["startLine": ev.line]]]
                },
                "properties": ["count": g.count, "template": g.template, "score": g.score],
            ])
        }
        let doc: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [["tool": ["driver": ["name": "logdiag", "informationUri": "https://github.com/logdiag/logdiag",
                                          "rules": rules]],
                      "results": results]],
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// JUnit XML for CI test reports: one test case per finding, failing at or above `failOn`.
public struct JUnitRenderer {
    public var failOn: Severity
    public init(failOn: Severity = .error) { self.failOn = failOn }

    static func xml(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // XML 1.0 forbids most control characters even when escaped.
                if u.value < 0x20 && u != "\n" && u != "\t" && u != "\r" { out += "?" } else { out.unicodeScalars.append(u) }
            }
        }
        return out
    }

    public func render(_ report: Report) -> String {
        let findings = report.allReported
        let failures = findings.filter { $0.severity >= failOn }.count + report.unrecognised.filter { $0.severity >= failOn }.count
        let tests = findings.count + report.unrecognised.count
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"logdiag\" tests=\"\(max(1, tests))\" failures=\"\(failures)\">\n"
        out += "  <testsuite name=\"logdiag\" tests=\"\(max(1, tests))\" failures=\"\(failures)\">\n"
        if tests == 0 {
            out += "    <testcase classname=\"logdiag\" name=\"no known failure found\"/>\n"
        }
        for f in findings {
            let name = JUnitRenderer.xml("\(f.rule.id): \(f.title)")
            out += "    <testcase classname=\"logdiag.\(JUnitRenderer.xml(f.rule.id.split(separator: ".").first.map(String.init) ?? "logdiag"))\" name=\"\(name)\">\n"
            let body = "Cause: \(f.cause)\nFix: \(f.fix)\nEvidence:\n"
                + f.finding.evidence.map { "  \($0.input):\($0.line)  \($0.text)" }.joined(separator: "\n")
            if f.severity >= failOn {
                out += "      <failure type=\"\(f.severity)\" message=\"\(JUnitRenderer.xml(f.title))\">\(JUnitRenderer.xml(body))</failure>\n"
            } else {
                out += "      <system-out>\(JUnitRenderer.xml(body))</system-out>\n"
            }
            out += "    </testcase>\n"
        }
        for (k, g) in report.unrecognised.enumerated() {
            let name = JUnitRenderer.xml("unrecognised \(k + 1): \(g.template)")
            out += "    <testcase classname=\"logdiag.unrecognised\" name=\"\(name)\">\n"
            let body = "Not recognised (\(g.count) line\(g.count == 1 ? "" : "s")):\n"
                + g.evidence.map { "  \($0.input):\($0.line)  \($0.text)" }.joined(separator: "\n")
            if g.severity >= failOn {
                out += "      <failure type=\"\(g.severity)\" message=\"\(JUnitRenderer.xml("Not recognised: " + g.template))\">\(JUnitRenderer.xml(body))</failure>\n"
            } else {
                out += "      <system-out>\(JUnitRenderer.xml(body))</system-out>\n"
            }
            out += "    </testcase>\n"
        }
        out += "  </testsuite>\n</testsuites>\n"
        return out
    }
}
