/// Severity from level words (`ERROR`, `warn`, `FATA`) and, for plain text, from the words used.
public enum LevelWord {
    /// A level word of any common spelling, case-insensitive.
    public static func severity(_ w: UnsafeBufferPointer<UInt8>) -> Severity? {
        guard w.count >= 1, w.count <= 8 else { return nil }
        var lower: UInt64 = 0
        for b in w { lower = lower << 8 | UInt64(b | 0x20) }
        switch lower {
        case word("debug"), word("debu"), word("trace"), word("trac"), word("d"): return .debug
        case word("info"), word("notice"), word("i"), word("n"): return .info
        case word("warn"), word("warning"), word("w"): return .warning
        case word("error"), word("erro"), word("err"), word("e"): return .error
        case word("fatal"), word("fata"), word("panic"), word("pani"), word("critical"), word("crit"), word("c"),
             word("f"), word("dpanic"):
            return .fatal
        default: return nil
        }
    }

    private static func word(_ s: StaticString) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<s.utf8CodeUnitCount { v = v << 8 | UInt64(s.utf8Start[i]) }
        return v
    }

    /// Plain text: a severity guessed from its words, `default` when none says anything. A program
    /// that prints one line to stderr and exits rarely says "error": the words of failing system
    /// calls and of refused configurations count too.
    public static func guess(_ m: UnsafeBufferPointer<UInt8>, default d: Severity) -> Severity {
        // A pasted shell command (`pi@node:~ $ kubeadm init --ignore-preflight-errors=...`) says nothing.
        if isShellPrompt(m) { return d }
        if ByteScan.containsLowercased("panic:", in: m) || ByteScan.containsLowercased("fatal", in: m) { return .fatal }
        if ByteScan.containsLowercased("error", in: m) || ByteScan.containsLowercased("failed", in: m)
            || ByteScan.containsLowercased("refused", in: m) || ByteScan.containsLowercased("denied", in: m)
            || ByteScan.containsLowercased("unable to", in: m) || ByteScan.containsLowercased("cannot ", in: m)
            || ByteScan.containsLowercased("could not", in: m) || ByteScan.containsLowercased("read-only file system", in: m)
            || ByteScan.containsLowercased("no space left", in: m) || ByteScan.containsLowercased("not permitted", in: m)
            || ByteScan.containsLowercased("no such file or directory", in: m)
            || ByteScan.containsLowercased("address already in use", in: m)
            || ByteScan.containsLowercased("out of memory", in: m)
            // The kernel's words for a failing host (dmesg and journald -k lines carry no level).
            || ByteScan.containsLowercased("table full", in: m) || ByteScan.containsLowercased("table overflow", in: m)
            || ByteScan.containsLowercased("soft lockup", in: m) || ByteScan.containsLowercased("blocked for more than", in: m) {
            return .error
        }
        // systemd: `kubelet.service: Main process exited, code=exited, status=1/FAILURE`.
        if ByteScan.find("Main process exited, code=", in: m) != nil, ByteScan.find("status=0/SUCCESS", in: m) == nil {
            return .error
        }
        if ByteScan.containsLowercased("warn", in: m) { return .warning }
        return d
    }

    /// `$ cmd`, `user@host:~$ cmd`, `root@host:/# cmd`, `[root@host ~]# cmd`: a prompt of at most
    /// 64 bytes, then `$ ` or `# `.
    static func isShellPrompt(_ m: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = ByteScan.skipSpaces(m, 0)
        var i = start
        var bracket = false
        while i + 1 < m.count, i - start < 64 {
            let b = m[i]
            if (b == 0x24 || b == 0x23), m[i + 1] == 0x20 {
                return i == start || m[i - 1] == 0x7E || m[i - 1] == 0x2F || m[i - 1] == 0x5D || m[i - 1] == 0x20 && (bracket || i - 1 > start)
            }
            if b == 0x5B, i == start { bracket = true }
            if b == 0x20 {
                // `pi@node:~ $ cmd`
                if i + 2 < m.count, m[i + 1] == 0x24 || m[i + 1] == 0x23, m[i + 2] == 0x20 { return i > start }
                if !bracket { return false }
            }
            i += 1
        }
        return false
    }
}
