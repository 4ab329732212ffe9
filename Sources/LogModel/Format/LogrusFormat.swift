/// logrus text (`time="..." level=error msg="..." error="..."`: rancher-agent, RKE2, k3s,
/// containerd, dockerd). The message starts at the `msg` value and runs to the end of the line,
/// so patterns see the keys that follow it (`error=`, `err=`) too.
public enum LogrusFormat {
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent) -> Bool {
        guard ByteScan.hasPrefix("time=", p) || ByteScan.hasPrefix("level=", p) else { return false }
        var sawLevel = false
        var msgStart: Int?
        var msgEnd = p.count
        KeyValueScanner.scan(p, from: 0) { key, value, valueStart, quoted in
            if ByteScan.hasPrefix("time", key), key.count == 4 {
                if e.time == nil, let (t, _) = ByteScan.rfc3339(value, 0) { e.time = t }
            } else if ByteScan.hasPrefix("level", key), key.count == 5 {
                if let s = LevelWord.severity(value) { e.severity = s; sawLevel = true }
            } else if ByteScan.hasPrefix("msg", key), key.count == 3 {
                msgStart = valueStart
                msgEnd = valueStart + value.count + (quoted ? 1 : 0)
            }
            return true
        }
        guard sawLevel else { return false }
        e.format = .logrus
        if let start = msgStart {
            // msg last on the line: drop its closing quote; otherwise keep the keys after it.
            let end = msgEnd >= p.count ? (p[p.count - 1] == 0x22 ? p.count - 1 : p.count) : p.count
            e.message = ByteScan.slice(p, start, end)
        } else {
            e.message = p
        }
        return true
    }
}

/// Scans `key=value` pairs where values are bare words or Go-quoted strings.
public enum KeyValueScanner {
    /// Calls `body(key, value, valueStart, quoted)` for each pair from `from`; the value of a quoted
    /// string is its raw content between the quotes (escapes kept). Stop by returning false.
    public static func scan(_ p: UnsafeBufferPointer<UInt8>, from: Int,
                            _ body: (UnsafeBufferPointer<UInt8>, UnsafeBufferPointer<UInt8>, Int, Bool) -> Bool) {
        var i = from
        while i < p.count {
            i = ByteScan.skipSpaces(p, i)
            let keyStart = i
            while i < p.count, p[i] != 0x3D, p[i] != 0x20 { i += 1 }
            guard i < p.count, p[i] == 0x3D, i > keyStart else {
                // Not a pair: skip the word.
                while i < p.count, p[i] != 0x20 { i += 1 }
                continue
            }
            let key = ByteScan.slice(p, keyStart, i)
            i += 1
            if i < p.count, p[i] == 0x22 {
                let start = i + 1
                var j = start
                while j < p.count, p[j] != 0x22 { j += p[j] == 0x5C ? 2 : 1 }
                let end = min(j, p.count)
                if !body(key, ByteScan.slice(p, start, end), start, true) { return }
                i = end + 1
            } else {
                let start = i
                while i < p.count, p[i] != 0x20 { i += 1 }
                if !body(key, ByteScan.slice(p, start, i), start, false) { return }
            }
        }
    }
}

/// logrus TTY output of the `rke` CLI: `INFO[0000] Running RKE version: v1.2.8`.
public enum LogrusTTYFormat {
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent) -> Bool {
        // The bracket holds seconds since start, or the time with FullTimestamp
        // (`FATA[2020-10-29T22:42:48.859634131-07:00]`, k3s in a terminal).
        guard p.count >= 7, p[4] == 0x5B, let close = ByteScan.index(of: 0x5D, in: p, from: 5), close - 5 <= 40,
              let level = LevelWord.severity(ByteScan.slice(p, 0, 4))
        else { return false }
        if close - 5 <= 8, ByteScan.number(p, 5)?.end == close {
            // seconds since start: no clock
        } else if let (t, end) = ByteScan.rfc3339(p, 5), end == close {
            e.time = t
        } else {
            return false
        }
        e.format = .logrusTTY
        e.severity = level
        e.message = ByteScan.slice(p, ByteScan.skipSpaces(p, close + 1), p.count)
        return true
    }
}

/// The rancher-agent start-up script: `INFO: Arguments: ...`, `ERROR: https://.../ping is not accessible`.
public enum AgentScriptFormat {
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent) -> Bool {
        guard let colon = ByteScan.index(of: 0x3A, in: p), colon >= 4, colon <= 7, colon + 1 < p.count,
              p[colon + 1] == 0x20
        else { return false }
        for k in 0..<colon where p[k] < 0x41 || p[k] > 0x5A { return false }
        guard let level = LevelWord.severity(ByteScan.slice(p, 0, colon)) else { return false }
        e.format = .agentScript
        e.severity = level
        e.message = ByteScan.slice(p, colon + 2, p.count)
        return true
    }
}

/// CoreDNS plugin lines: `[INFO] plugin/reload: Running configuration SHA512 = ...`,
/// `[FATAL] plugin/loop: Loop (127.0.0.1:55953 -> :53) detected for zone "."`.
public enum CoreDNSFormat {
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent) -> Bool {
        guard let close = ByteScan.index(of: 0x5D, in: p), close <= 8,
              let level = LevelWord.severity(ByteScan.slice(p, 1, close))
        else { return false }
        e.format = .coredns
        e.severity = level
        e.message = ByteScan.slice(p, ByteScan.skipSpaces(p, close + 1), p.count)
        return true
    }
}

/// etcd 3.3 and earlier (capnslog): `2021-07-23 07:40:55.123456 W | etcdserver: message`.
public enum CapnslogFormat {
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent) -> Bool {
        guard p.count > 24, let (t, after) = ByteScan.rfc3339(p, 0), after + 4 < p.count, p[after] == 0x20,
              p[after + 2] == 0x20, p[after + 3] == 0x7C
        else { return false }
        let level: Severity
        switch p[after + 1] {
        case 0x44: level = .debug
        case 0x49, 0x4E: level = .info
        case 0x57: level = .warning
        case 0x45: level = .error
        case 0x43: level = .fatal
        default: return false
        }
        e.format = .capnslog
        e.severity = level
        if e.time == nil { e.time = t }
        e.message = ByteScan.slice(p, ByteScan.skipSpaces(p, after + 4), p.count)
        return true
    }
}
