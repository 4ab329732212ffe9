/// Recognises the payload format of one line by its first bytes and parses its header by offset.
/// Any line that fits no format is a plain event with a severity guessed from its words.
public enum PayloadParser {
    public static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent, years: inout YearTracker) {
        var cache = ByteScan.DayCache()
        parse(p, into: &e, years: &years, observeTime: true, dayCache: &cache)
    }

    /// `observeTime: false` when the caller keeps `years` in step with envelope times itself (the
    /// event source, which does it once per day instead of once per line); `dayCache` keeps the
    /// day number of the last date.
    static func parse(_ p: UnsafeBufferPointer<UInt8>, into e: inout LogEvent, years: inout YearTracker,
                      observeTime: Bool, dayCache: inout ByteScan.DayCache) {
        e.payload = p
        e.message = p
        guard let first = p.first else {
            e.format = .plain
            return
        }
        switch first {
        case 0x49, 0x57, 0x45, 0x46:  // I W E F
            if KlogFormat.parse(p, into: &e, years: &years, observeTime: observeTime, dayCache: &dayCache) { return }
            if LogrusTTYFormat.parse(p, into: &e) { return }
            if AgentScriptFormat.parse(p, into: &e) { return }
        case 0x30...0x39:
            if RancherFormat.parse(p, into: &e) { return }
            if CapnslogFormat.parse(p, into: &e) { return }
        case 0x7B:  // {
            if JSONPayloadFormat.parse(p, into: &e) { return }
        case 0x74, 0x6C:  // t(ime=) l(evel=)
            if LogrusFormat.parse(p, into: &e) { return }
        case 0x5B:  // [INFO] plugin/...
            if CoreDNSFormat.parse(p, into: &e) { return }
        case 0x44, 0x50:  // DEBU[ PANI[
            if LogrusTTYFormat.parse(p, into: &e) { return }
        default:
            break
        }
        // Event table rows start with spaces (describe), the type, an age or a namespace.
        if first == 0x20 || first == 0x4E || first == 0x57 || first == 0x3C || first &- 0x30 < 10 || first &- 0x61 < 26,
           KubeEventFormat.parse(p, into: &e) {
            return
        }
        e.format = .plain
        e.severity = LevelWord.guess(p, default: .info)
    }
}
