import Foundation

/// logdiag's release, as reports state it (SARIF's tool entry).
public enum LogDiagVersion {
    public static let current = "0.4.0"
}

/// An input name split into the file on disk and, for an archive member (`b.tgz:node1/x.log`),
/// the member's path inside it.
enum InputLocation {
    static let archiveSuffixes = [".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".tzst", ".tar.bz2",
                                  ".tbz2", ".tbz", ".zip", ".gz", ".xz", ".zst", ".bz2"]

    static func split(_ input: String) -> (path: String, member: String?) {
        var search = input.startIndex
        while let colon = input[search...].firstIndex(of: ":") {
            let head = input[..<colon].lowercased()
            if archiveSuffixes.contains(where: { head.hasSuffix($0) }) {
                return (String(input[..<colon]), String(input[input.index(after: colon)...]))
            }
            search = input.index(after: colon)
        }
        return (input, nil)
    }

    /// A SARIF artifact URI: a relative reference, or a file URI for an absolute path, with
    /// every character outside a URI path percent-encoded (spaces, `#`, `?`, `%`, non-ASCII).
    static func uri(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: ";?#%[]")
        let encoded = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
        return path.hasPrefix("/") ? "file://" + encoded : encoded
    }
}

/// SARIF 2.1.0 for code-scanning style CI systems: one result per finding, located at its evidence lines.
public struct SARIFRenderer {
    public init() {}

    static func location(_ ev: Evidence) -> [String: Any] {
        let (path, member) = InputLocation.split(ev.input)
        var loc: [String: Any] = ["physicalLocation": ["artifactLocation": ["uri": InputLocation.uri(path)], "region": ["startLine": ev.line]]]
        if let member { loc["properties"] = ["archiveMember": member] }
        return loc
    }

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
                // The texts as filled for the first finding: a rule's template has `{placeholders}`.
                "fullDescription": ["text": f.cause],
                "help": ["text": f.fix],
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
                "locations": f.finding.evidence.map(SARIFRenderer.location),
                "properties": ["count": f.finding.count],
            ]
        }
        for g in report.unrecognised {
            results.append([
                "ruleId": "logdiag.unrecognised",
                "level": SARIFRenderer.level(g.severity),
                "message": ["text": "Not recognised: \(g.template) (\(g.count) line\(g.count == 1 ? "" : "s"))"],
                "locations": g.evidence.map(SARIFRenderer.location),
                "properties": ["count": g.count, "template": g.template, "score": g.score],
            ])
        }
        let doc: [String: Any] = [
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [["tool": ["driver": ["name": "logdiag", "informationUri": "https://github.com/logdiag/logdiag",
                                          "version": LogDiagVersion.current, "semanticVersion": LogDiagVersion.current,
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
        // Reading logs is not a timed test: every case takes 0 s, which JUnit consumers require.
        out += "<testsuites name=\"logdiag\" tests=\"\(max(1, tests))\" failures=\"\(failures)\" time=\"0\">\n"
        out += "  <testsuite name=\"logdiag\" tests=\"\(max(1, tests))\" failures=\"\(failures)\" time=\"0\">\n"
        if tests == 0 {
            out += "    <testcase classname=\"logdiag\" name=\"no known failure found\" time=\"0\"/>\n"
        }
        // Names are unique in a suite: the same rule on two hosts gets its key values, then a number.
        var used: [String: Int] = [:]
        func unique(_ base: String) -> String {
            let n = (used[base] ?? 0) + 1
            used[base] = n
            return n == 1 ? base : "\(base) (\(n))"
        }
        for f in findings {
            let keys = f.finding.keyValues.filter { !$0.isEmpty }
            let name = JUnitRenderer.xml(unique("\(f.rule.id): \(f.title)" + (keys.isEmpty ? "" : " [\(keys.joined(separator: ", "))]")))
            out += "    <testcase classname=\"logdiag.\(JUnitRenderer.xml(f.rule.id.split(separator: ".").first.map(String.init) ?? "logdiag"))\" name=\"\(name)\" time=\"0\">\n"
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
            let name = JUnitRenderer.xml(unique("unrecognised \(k + 1): \(g.template)"))
            out += "    <testcase classname=\"logdiag.unrecognised\" name=\"\(name)\" time=\"0\">\n"
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
