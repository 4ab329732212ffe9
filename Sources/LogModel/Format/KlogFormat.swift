/// klog, the format of every Kubernetes component:
/// `Lmmdd hh:mm:ss.uuuuuu threadid file:line] message`, parsed by offset.
public enum KlogFormat {
    /// True when `p` starts with a klog header; fills severity, time, pid, file, line and message.
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent, years: inout YearTracker) -> Bool {
        guard p.count >= 22 else { return false }
        let severity: Severity
        switch p[0] {
        case 0x49: severity = .info  // I
        case 0x57: severity = .warning  // W
        case 0x45: severity = .error  // E
        case 0x46: severity = .fatal  // F
        default: return false
        }
        guard let month = ByteScan.digits(p, 1, 2), let day = ByteScan.digits(p, 3, 2), p[5] == 0x20,
              let hour = ByteScan.digits(p, 6, 2), p[8] == 0x3A, let minute = ByteScan.digits(p, 9, 2),
              p[11] == 0x3A, let second = ByteScan.digits(p, 12, 2), (1...12).contains(month),
              (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return false }
        var i = 14
        var nanos = 0
        if p[i] == 0x2E { (nanos, i) = ByteScan.fraction(p, i + 1) }
        // Thread id, right-aligned in 7 columns (squeezed to one space in pasted logs).
        i = ByteScan.skipSpaces(p, i)
        guard let (pid, afterPid) = ByteScan.number(p, i), afterPid < p.count, p[afterPid] == 0x20 else { return false }
        // file:line] — the file may carry a directory (-add_dir_header).
        let fileStart = afterPid + 1
        guard let close = ByteScan.index(of: 0x5D, in: p, from: fileStart), close - fileStart < 256,
              let colon = ByteScan.lastIndex(of: 0x3A, in: p, before: close), colon > fileStart,
              let (line, afterLine) = ByteScan.number(p, colon + 1), afterLine == close
        else { return false }
        e.severity = severity
        e.format = .klog
        e.pid = pid
        e.sourceFile = ByteScan.slice(p, fileStart, colon)
        e.sourceLine = line
        if e.time == nil {
            let year = years.year(forMonth: month)
            e.time = Timestamp(year: year, month: month, day: day, hour: hour, minute: minute, second: second,
                               nanosecond: nanos)
        } else {
            // The envelope's date is authoritative; keep the year tracker in step with it.
            years.observe(e.time!)
        }
        var m = close + 1
        if m < p.count, p[m] == 0x20 { m += 1 }
        e.message = ByteScan.slice(p, m, p.count)
        return true
    }
}
