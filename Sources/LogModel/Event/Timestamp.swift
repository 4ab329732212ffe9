/// An instant as nanoseconds since the Unix epoch, UTC. Built from civil fields without Foundation.
public struct Timestamp: Comparable, Hashable, Sendable {
    public var nanos: Int64

    public init(nanos: Int64) { self.nanos = nanos }

    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, nanosecond: Int = 0,
                offsetSeconds: Int = 0) {
        // Nanoseconds since 1970 fit in Int64 only for years 1678 to 2261; a log that claims another
        // year (a corrupt or hostile line) is clamped rather than trapping.
        let y = min(max(year, 1678), 2261)
        let days = Timestamp.daysFromCivil(year: y, month: month, day: day)
        let secs = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        let (scaled, overflow) = secs.multipliedReportingOverflow(by: 1_000_000_000)
        nanos = overflow ? (secs < 0 ? .min : .max) : scaled.addingReportingOverflow(Int64(nanosecond)).partialValue
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.nanos < b.nanos }

    /// Howard Hinnant's days_from_civil: proleptic Gregorian date to days since 1970-01-01.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of `daysFromCivil`.
    static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public var civil: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, nanosecond: Int) {
        var secs = nanos / 1_000_000_000
        var ns = nanos % 1_000_000_000
        if ns < 0 { ns += 1_000_000_000; secs -= 1 }
        var days = secs / 86_400
        var rem = secs % 86_400
        if rem < 0 { rem += 86_400; days -= 1 }
        let (y, m, d) = Timestamp.civilFromDays(Int(days))
        return (y, m, d, Int(rem / 3600), Int(rem % 3600 / 60), Int(rem % 60), Int(ns))
    }

    /// RFC 3339 in UTC with microseconds, e.g. `2021-07-23T07:30:08.945634Z`.
    public var rfc3339: String {
        let c = civil
        func pad(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return "\(pad(c.year, 4))-\(pad(c.month, 2))-\(pad(c.day, 2))T\(pad(c.hour, 2)):\(pad(c.minute, 2)):"
            + "\(pad(c.second, 2)).\(pad(c.nanosecond / 1000, 6))Z"
    }

    /// `HH:MM:SS` for compact display.
    public var clock: String {
        let c = civil
        func p2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(p2(c.hour)):\(p2(c.minute)):\(p2(c.second))"
    }
}

/// Supplies the year for formats that omit it (klog, journald short) and rolls it over when the
/// month runs backwards (December, then January).
public struct YearTracker: Sendable {
    public var year: Int
    private var lastMonth = 0
    /// The year came from a clock at the end of the log (file mtime, now): months after the
    /// reference month belong to the year before.
    private let referenceMonth: Int?

    public init(year: Int, referenceMonth: Int? = nil) {
        self.year = year
        self.referenceMonth = referenceMonth
    }

    public mutating func year(forMonth month: Int) -> Int {
        if lastMonth == 0, let ref = referenceMonth, month > ref { year -= 1 }
        if lastMonth == 12 && month == 1 { year += 1 }
        lastMonth = month
        return year
    }

    /// An envelope or line that carries a full date tells the year outright.
    public mutating func observe(_ t: Timestamp) {
        let c = t.civil
        year = c.year
        lastMonth = c.month
    }
}
