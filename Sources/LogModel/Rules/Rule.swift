/// A rule as written in a rule file: what to match, what it means, how to fix it, and the sample
/// lines that prove it. Rules are data (`docs/rules.md`); this is their typed form.
public struct Rule: Sendable {
    public enum Confidence: String, Sendable { case high, medium, low }

    public struct Sample: Sendable {
        public let line: String
        public let shouldMatch: Bool
        /// Captures the match must produce, when given.
        public let captures: [String: String]?
        /// Where the sample was written, so a failing sample is reported at its own line.
        public let file: String
        public let lineNumber: Int
    }

    public struct Threshold: Sendable {
        public let count: Int
        /// Window in nanoseconds of event time.
        public let within: Int64
        public let text: String
    }

    /// A fix for one situation: chosen when every condition it states holds (a version range,
    /// words in a capture, another finding in the report). The first that holds is shown; the
    /// rule's `fix` is the default and the others are listed as other possible fixes.
    public struct VersionedFix: Sendable {
        public let condition: VersionCondition?
        /// Capture name -> words; the capture must contain one of them (case-insensitive).
        public var captures: [String: [String]] = [:]
        /// Rule ids; one of them must be among the report's findings.
        public var findings: [String] = []
        public let fix: String
        /// Removes data or state (`rm -rf`, wiping etcd): shown with a warning and `checkFirst`,
        /// and never chosen unless a capture or finding condition proves it applies.
        public var destructive = false
        public var checkFirst: String?
        /// The cause as this situation states it, replacing the rule's when this fix is chosen.
        public var cause: String?

        public init(condition: VersionCondition?, fix: String) {
            self.condition = condition
            self.fix = fix
        }

        /// Its conditions, as the report names them.
        public var description: String {
            var parts: [String] = []
            if let condition { parts.append(condition.description) }
            for (name, words) in captures.sorted(by: { $0.key < $1.key }) {
                parts.append("\(name) says " + words.map { "\"\($0)\"" }.joined(separator: " or "))
            }
            if !findings.isEmpty { parts.append("with " + findings.joined(separator: " or ")) }
            return parts.joined(separator: ", ")
        }

        /// Proven by the evidence, not only by a version: what a destructive fix needs.
        public var evidenceConditions: Bool { !captures.isEmpty || !findings.isEmpty }
    }

    public let id: String
    public let title: String
    public let severity: Severity
    public let confidence: Confidence
    public let noise: Bool
    public let literals: [String]
    public let pattern: String
    public let components: [String]
    public let severities: [Severity]
    public let formats: [PayloadFormat]
    public let field: String?
    public let key: [String]
    public let threshold: Threshold?
    public let explains: [String]
    /// How far apart in time this rule's finding and a finding it `explains` may be
    /// (`explains-within`, default 2h), in nanoseconds.
    public var explainsWithin: Int64 = Rule.defaultExplainsWithin
    public static let defaultExplainsWithin: Int64 = 2 * 3_600_000_000_000
    public let overlaps: [String]
    public let cause: String
    public let fix: String
    public let fixes: [VersionedFix]
    public let references: [String]
    public let samples: [Sample]
    /// The file and line the rule starts at.
    public let file: String
    public let line: Int
    /// A generic cause (an error class such as "address already in use"): it runs only on
    /// error-level events that no specific rule matched, so a specific rule always wins.
    public var generic = false
    /// Captures looked up in a knowledge table, capture name -> table kind (`port: port`).
    public var lookup: [String: KnowledgeTable.Kind] = [:]
}

/// A component version such as `1.20.8`, compared numerically part by part.
public struct Version: Comparable, Sendable, CustomStringConvertible {
    public let parts: [Int]
    public let text: String

    public init?(_ text: String) {
        var t = Substring(text)
        if t.first == "v" || t.first == "V" { t = t.dropFirst() }
        let core = t.prefix { $0.isNumber || $0 == "." }
        let parts = core.split(separator: ".").compactMap { Int($0) }
        guard !parts.isEmpty else { return nil }
        self.parts = parts
        self.text = "v" + core
    }

    public static func < (a: Version, b: Version) -> Bool {
        for i in 0..<max(a.parts.count, b.parts.count) {
            let x = i < a.parts.count ? a.parts[i] : 0
            let y = i < b.parts.count ? b.parts[i] : 0
            if x != y { return x < y }
        }
        return false
    }

    public static func == (a: Version, b: Version) -> Bool { !(a < b) && !(b < a) }
    public var description: String { text }
}

/// `kube-proxy < 1.23`, several joined with ` and `.
public struct VersionCondition: Sendable, CustomStringConvertible {
    public struct Clause: Sendable {
        public let component: String
        public let op: String
        public let version: Version
    }

    public let clauses: [Clause]
    public let description: String

    public init(_ text: String) throws(RuleFileError.Reason) {
        var clauses: [Clause] = []
        for part in text.split(separator: " and ") {
            let words = part.split(separator: " ").map(String.init)
            guard words.count == 3, ["<", "<=", ">", ">=", "=="].contains(words[1]), let v = Version(words[2]) else {
                throw .init("`when` must read COMPONENT OP VERSION (OP one of < <= > >= ==), got '\(part)'")
            }
            clauses.append(Clause(component: words[0], op: words[1], version: v))
        }
        guard !clauses.isEmpty else { throw .init("`when` is empty") }
        self.clauses = clauses
        description = text
    }

    /// Nil when a version it needs is unknown.
    public func holds(_ versionOf: (String) -> Version?) -> Bool? {
        for c in clauses {
            guard let v = versionOf(c.component) else { return nil }
            let ok: Bool
            switch c.op {
            case "<": ok = v < c.version
            case "<=": ok = v <= c.version
            case ">": ok = v > c.version
            case ">=": ok = v >= c.version
            default: ok = v == c.version
            }
            if !ok { return false }
        }
        return true
    }
}

/// An error in a rule file, reported as `file:line: rule-id: message`.
public struct RuleFileError: Error, Sendable, CustomStringConvertible {
    public struct Reason: Error, Sendable {
        public let message: String
        public init(_ message: String) { self.message = message }
    }

    public let file: String
    public let line: Int
    public let ruleID: String?
    public let message: String

    public init(file: String, line: Int, ruleID: String?, message: String) {
        self.file = file
        self.line = line
        self.ruleID = ruleID
        self.message = message
    }

    public var description: String {
        "\(file):\(line): \(ruleID ?? "-"): \(message)"
    }
}
