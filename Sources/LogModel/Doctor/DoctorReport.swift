import Foundation

/// The verdict of one doctor check. Ordered by how bad it is: pass < skip < warn < fail.
public enum CheckStatus: String, Codable, Sendable, CaseIterable, Comparable {
    /// The prerequisite is in place.
    case pass
    /// The check could not run here (the file is not in the tree or the bundle); the reason says why.
    case skip
    /// Kubernetes will start, but something is degraded or depends on the release.
    case warn
    /// Kubernetes will fail here; the fix says what to change.
    case fail

    var rank: Int {
        switch self {
        case .pass: return 0
        case .skip: return 1
        case .warn: return 2
        case .fail: return 3
        }
    }

    public static func < (a: CheckStatus, b: CheckStatus) -> Bool { a.rank < b.rank }
}

/// One check's result: what was found, why it matters (the log line that would otherwise appear
/// and the logdiag rule that explains it) and the fix.
public struct CheckResult: Codable, Sendable, Equatable {
    /// Stable id, e.g. `conntrack-max` or `lxd.security-nesting`.
    public var id: String
    public var title: String
    public var status: CheckStatus
    /// What was found, in one or two sentences.
    public var found: String
    /// Why it matters (empty on a plain pass).
    public var why: String
    /// The log line Kubernetes would write when this is wrong.
    public var logLine: String?
    /// The logdiag rules that explain that line (`logdiag rules show ID`).
    public var rules: [String]
    /// What to do; for LXD profiles the exact commands, one per line.
    public var fix: String?
    /// The exact commands that fix it, when there are some (also part of `fix`).
    public var commands: [String]
    /// Supporting facts: one line each (module by module, per kube-proxy release, ...).
    public var details: [String]

    public init(id: String, title: String, status: CheckStatus, found: String, why: String = "",
                logLine: String? = nil, rules: [String] = [], fix: String? = nil,
                commands: [String] = [], details: [String] = []) {
        self.id = id
        self.title = title
        self.status = status
        self.found = found
        self.why = why
        self.logLine = logLine
        self.rules = rules
        self.fix = fix
        self.commands = commands
        self.details = details
    }
}

/// Everything `logdiag doctor` found, in check order.
public struct DoctorReport: Codable, Sendable {
    public struct Summary: Codable, Sendable {
        public var checks: Int
        public var pass: Int
        public var warn: Int
        public var fail: Int
        public var skip: Int
        public var worst: CheckStatus?
    }

    /// What was inspected: `/`, a tree, a bundle or an LXD profile.
    public var target: String
    /// The assumptions the verdicts use (proxy mode, kube-proxy release).
    public var assumptions: [String]
    public var checks: [CheckResult]

    public init(target: String, assumptions: [String] = [], checks: [CheckResult]) {
        self.target = target
        self.assumptions = assumptions
        self.checks = checks
    }

    public var summary: Summary {
        Summary(checks: checks.count,
                pass: checks.filter { $0.status == .pass }.count,
                warn: checks.filter { $0.status == .warn }.count,
                fail: checks.filter { $0.status == .fail }.count,
                skip: checks.filter { $0.status == .skip }.count,
                worst: checks.map(\.status).max())
    }

    public var worst: CheckStatus? { checks.map(\.status).max() }

    /// True when at least one check failed (exit status 1).
    public var failed: Bool { checks.contains { $0.status == .fail } }

    /// The checks that could not run here.
    public var skipped: [CheckResult] { checks.filter { $0.status == .skip } }

    public mutating func append(_ other: DoctorReport) {
        target += " + " + other.target
        for a in other.assumptions where !assumptions.contains(a) { assumptions.append(a) }
        checks += other.checks
    }

    private struct Document: Codable {
        var target: String
        var assumptions: [String]
        var summary: Summary
        var checks: [CheckResult]
    }

    /// `--output json`: keys sorted, stable.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let doc = Document(target: target, assumptions: assumptions, summary: summary, checks: checks)
        guard let data = try? encoder.encode(doc) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// Why doctor could not inspect what it was given (exit status 2).
public struct DoctorError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
