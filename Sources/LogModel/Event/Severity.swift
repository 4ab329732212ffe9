/// Severity normalised across formats, ordered from least to most severe.
public enum Severity: UInt8, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    case debug, info, warning, error, fatal

    public static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .warning: "warning"
        case .error: "error"
        case .fatal: "fatal"
        }
    }

    /// Parses the names users and rule files write (`warn`, `critical` and `crit` included).
    public init?(name: String) {
        switch name.lowercased() {
        case "debug", "trace": self = .debug
        case "info", "notice": self = .info
        case "warning", "warn": self = .warning
        case "error", "err": self = .error
        case "fatal", "critical", "crit", "panic": self = .fatal
        default: return nil
        }
    }
}
