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
        if ByteScan.containsLowercased("panic:", in: m) || ByteScan.containsLowercased("fatal", in: m) { return .fatal }
        if ByteScan.containsLowercased("error", in: m) || ByteScan.containsLowercased("failed", in: m)
            || ByteScan.containsLowercased("refused", in: m) || ByteScan.containsLowercased("denied", in: m)
            || ByteScan.containsLowercased("unable to", in: m) || ByteScan.containsLowercased("cannot ", in: m)
            || ByteScan.containsLowercased("could not", in: m) || ByteScan.containsLowercased("read-only file system", in: m)
            || ByteScan.containsLowercased("no space left", in: m) || ByteScan.containsLowercased("not permitted", in: m)
            || ByteScan.containsLowercased("no such file or directory", in: m)
            || ByteScan.containsLowercased("address already in use", in: m) {
            return .error
        }
        // systemd: `kubelet.service: Main process exited, code=exited, status=1/FAILURE`.
        if ByteScan.find("Main process exited, code=", in: m) != nil, ByteScan.find("status=0/SUCCESS", in: m) == nil {
            return .error
        }
        if ByteScan.containsLowercased("warn", in: m) { return .warning }
        return d
    }
}
