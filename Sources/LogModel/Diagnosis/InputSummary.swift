/// What one input held: for triage's per-file table and the JSON report.
public struct InputSummary: Sendable {
    public var name: String
    public var lines = 0
    public var bytes = 0
    public var events = 0
    public var formatCounts = [Int](repeating: 0, count: PayloadFormat.allCases.count)
    public var envelopeCounts = [Int](repeating: 0, count: EnvelopeKind.allCases.count)
    public var first: Timestamp?
    public var last: Timestamp?
    /// Set when the input could not be read, or was left out (binary); never silently.
    public var problem: String?

    /// Not (wholly) read for a reason the user must hear of: anything but a file left out by
    /// design ("skipped: ..."). A gzip error half-way or an empty bundle counts.
    public var unreadable: Bool { problem.map { !$0.hasPrefix("skipped") } ?? false }
    /// Events whose time carries no year (klog, CoreDNS, journald short) and events whose does.
    public var undatedEvents = 0
    public var datedEvents = 0
    /// Where the year of its undated lines came from, when the input itself never stated one:
    /// "2026, from the file's modification time". Nil when nothing was guessed.
    public var yearGuess: String?

    public init(name: String) { self.name = name }

    @inline(__always)
    mutating func add(_ e: borrowing LogEvent) {
        events += 1
        formatCounts[Int(e.format.rawValue)] += 1
        if let env = e.envelope { envelopeCounts[Int(env.rawValue)] += 1 }
        // Read before the `||`: its autoclosure cannot capture a borrowed event.
        let formatStatesYear = e.format.statesYear
        if InputSummary.envelopeStatesYear(e.envelope) || formatStatesYear { datedEvents += 1 }
        else if e.time != nil { undatedEvents += 1 }
        if let t = e.time {
            if first == nil || t < first! { first = t }
            if last == nil || t > last! { last = t }
        }
    }

    /// Envelopes whose time carries the year (a journald short prefix's does not).
    @inline(__always)
    static func envelopeStatesYear(_ e: EnvelopeKind?) -> Bool {
        switch e {
        case .dockerTS?, .cri?, .dockerJSON?, .journaldISO?, .journaldJSON?: true
        default: false
        }
    }

    /// The format most events had; "plain" only when nothing else was seen.
    public var format: String {
        var best = PayloadFormat.plain.rawValue
        var bestCount = 0
        for (i, c) in formatCounts.enumerated() where PayloadFormat(rawValue: UInt8(i)) != .plain && c > bestCount {
            best = UInt8(i)
            bestCount = c
        }
        return PayloadFormat(rawValue: best)!.description
    }

    public var envelope: String? {
        guard let (i, c) = envelopeCounts.enumerated().max(by: { $0.element < $1.element }), c > 0 else { return nil }
        return EnvelopeKind(rawValue: UInt8(i))!.description
    }

    /// True when no line fitted a known format: logdiag read it, but knows nothing of its shape.
    public var unknownFormat: Bool {
        events > 0 && formatCounts[Int(PayloadFormat.plain.rawValue)] == events
    }
}

/// The events of lines the event source skipped because no rule can match them (klog lines at info
/// level), counted as `InputSummary.add` and the diagnoser would have counted them.
public struct SkippedEvents: Sendable {
    public private(set) var events = 0
    private var envelopeCounts = [Int](repeating: 0, count: EnvelopeKind.allCases.count)
    private var dated = 0
    private var undated = 0
    private var first: Timestamp?
    private var last: Timestamp?

    public init() {}

    /// One skipped klog event, with the envelope it came in and the time it states.
    @inline(__always)
    mutating func add(envelope: EnvelopeKind?, time: Timestamp) {
        events += 1
        if let env = envelope { envelopeCounts[Int(env.rawValue)] += 1 }
        // As `InputSummary.add` decides for a klog event, whose lines carry no year.
        if InputSummary.envelopeStatesYear(envelope) { dated += 1 } else { undated += 1 }
        if first == nil || time < first! { first = time }
        if last == nil || time > last! { last = time }
    }

    fileprivate func added(to s: inout InputSummary) {
        guard events > 0 else { return }
        s.events += events
        s.formatCounts[Int(PayloadFormat.klog.rawValue)] += events
        for (i, c) in envelopeCounts.enumerated() { s.envelopeCounts[i] += c }
        s.datedEvents += dated
        s.undatedEvents += undated
        if let f = first, s.first == nil || f < s.first! { s.first = f }
        if let l = last, s.last == nil || l > s.last! { s.last = l }
    }
}

extension InputSummary {
    /// Counts the events an event source skipped.
    public mutating func add(_ skipped: SkippedEvents) { skipped.added(to: &self) }
}
