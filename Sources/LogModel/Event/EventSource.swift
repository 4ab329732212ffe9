/// Options that shape how lines become events.
public struct ParseOptions: Sendable {
    /// Year for formats without one (klog, journald short) when no envelope tells it.
    public var year: YearTracker
    /// Component when no line or path names one.
    public var component: Component?
    public var maxLineBytes: Int

    public init(year: YearTracker = YearTracker(year: 1970), component: Component? = nil, maxLineBytes: Int = 8 << 20) {
        self.year = year
        self.component = component
        self.maxLineBytes = maxLineBytes
    }
}

/// Turns the lines of one input into events: envelope, payload format, the quoted inner line, and
/// the joining of continuation lines (Go panics, goroutine dumps, klog `key=<` blocks) into the
/// event they belong to. Events are delivered one at a time to a closure; their byte views are
/// valid only during the call.
///
/// An event is held back until the next line shows it is not continued. It is held as views into
/// the reader's buffer and the decoder's scratch, and copied only when it is continued or when
/// those are about to be reused (a buffer refill, a partial record), so most lines are never copied.
public struct EventSource<Source: ByteSource>: ~Copyable {
    public var reader: LineReader<Source>
    /// Where its events count in the diagnoser; `watch` moves a stream to a new diagnoser each window.
    public var inputIndex: Int
    private let decoder: EnvelopeDecoder
    /// The state parsing carries from line to line.
    private struct ParseState {
        var years: YearTracker
        /// UTC day (days since 1970) of the envelope time `years` last observed, while nothing else
        /// changed it since: another time of that day would leave it as it is.
        var observedDay = Int64.min
        /// Day number of the last date a line stated (klog), for its timestamps.
        var dayCache = ByteScan.DayCache()
    }
    private var state: ParseState
    private let defaultComponent: Component?
    private var pending: PendingEvent
    public private(set) var events = 0
    /// For lines made from a document (a Kubernetes event list read as JSON or YAML): the line of
    /// the document each made line stands for, so evidence points into the file as it is.
    public var lineMap: [Int]?
    /// The rules' literals, when lines that no rule can match may skip becoming events (see
    /// `skipLine`); nil delivers every event. Given only where nothing but the diagnoser and the
    /// summary sees the events: they take the skipped lines from `skipped`. A `let`, so the per-line
    /// test reads it without a retain.
    private let skipFilter: LiteralPrefilter
    private let skips: Bool
    /// What the skipped events would have added to the input's summary, and their severities.
    public private(set) var skipped = SkippedEvents()
    /// The held event is a skipped line, kept as its payload until the next line shows whether it
    /// continues (then it is parsed after all). Its unwrapping, its time, and the parse state from
    /// before it, for that parse, are kept beside it.
    private var holdingSkip = false
    private var skipUnwrapped = Unwrapped(payload: UnsafeBufferPointer(start: nil, count: 0), envelope: nil, time: nil,
                                          component: nil, pid: nil, firstLine: 0)
    private var skipTime = Timestamp(nanos: 0)
    private var skipState: ParseState

    public init(source: consuming Source, inputIndex: Int, options: ParseOptions, capacity: Int = 256 << 10,
                skipFilter: LiteralPrefilter? = nil) {
        self.skipFilter = skipFilter ?? .empty
        skips = skipFilter != nil
        reader = LineReader(source: source, capacity: capacity, maxLineBytes: options.maxLineBytes)
        self.inputIndex = inputIndex
        state = ParseState(years: options.year)
        skipState = state
        decoder = EnvelopeDecoder(years: options.year)
        defaultComponent = options.component
        pending = PendingEvent()
    }

    /// For input with no clock of its own (a pipe, and no `--year`): the year of the first line in
    /// the first read that begins with a full date stands for the lines before it that state none
    /// (klog), instead of the current year. `cat kube-proxy.log rancher.log | logdiag` dates the
    /// klog lines in Rancher's year.
    @discardableResult
    public mutating func takeYearFromFirstDatedLine() throws(InputError) -> Bool {
        guard let (year, month) = ByteScan.firstLineDate(in: try reader.peekStart()) else { return false }
        state.years = YearTracker(year: year, referenceMonth: month)
        decoder.restartYears(state.years)
        return true
    }

    /// Reads to the end of input (or, with `final == false`, to the end of what is available now)
    /// and delivers every complete event. With `final == false` the last event is held back in
    /// case continuation lines follow; call `flush` when the input goes quiet.
    public mutating func run(final: Bool = true, _ deliver: (borrowing LogEvent) -> Void) throws(InputError) {
        while true {
            // The held event may point into the reader's buffer: copy it before the buffer moves.
            if pending.borrowed, !reader.lineIsBuffered() { pending.own() }
            guard let line = try reader.next(final: final) else { break }
            let number = reader.lineNumber
            guard let u = decoder.unwrap(line, lineNumber: number, mayContainEscape: reader.lastLineMayContainEscape)
            else {
                // A partial record: the next unwrap reuses the scratch the held event may point into.
                pending.own()
                continue
            }
            handle(u, deliver)
        }
        if final {
            if let (rest, first) = decoder.flushPartial() {
                handle(Unwrapped(payload: rest, envelope: nil, time: nil, component: nil, pid: nil, firstLine: first),
                       deliver)
            }
            flush(deliver)
        } else {
            // Held across calls: the reader and decoder move on before it is delivered.
            pending.own()
        }
    }

    /// Delivers the event held back for continuation lines.
    public mutating func flush(_ deliver: (borrowing LogEvent) -> Void) {
        guard pending.active else { return }
        events += 1
        if holdingSkip {
            holdingSkip = false
            pending.drop()
            skipped.add(envelope: skipUnwrapped.envelope, time: skipTime)
        } else {
            pending.deliver(deliver)
        }
    }

    private mutating func handle(_ u: Unwrapped, _ deliver: (borrowing LogEvent) -> Void) {
        if skips, skipLine(u, deliver) { return }
        // Parsed in place into the pending event's spare slot: no event is copied.
        let e = pending.incoming
        parse(u, into: e)
        if e.pointee.format == .plain, pending.active, pending.accepts(u.payload) {
            if holdingSkip {
                // The skipped line is continued after all: it becomes the event it would have been,
                // parsed with the state from before it (which it left as the skip did).
                holdingSkip = false
                let now = state
                state = skipState
                parse(skipUnwrapped, payload: pending.heldPayload, into: pending.heldSlot)
                state = now
                pending.startParsed()
            }
            pending.append(u.payload)
            return
        }
        flush(deliver)
        var inner: QuotedInner?
        // Only relaying formats quote another component's line (Rancher's server log, rke's
        // logrus output, the agent script); klog and JSON components never do, so most lines
        // skip the search.
        if e.pointee.format.mayQuoteALogLine, let q = QuotedLogLine.split(e.pointee.message) {
            e.pointee.host = q.host
            inner = QuotedInner(bytes: q.inner, service: q.service.flatMap { Component(bytes: $0) })
        }
        pending.start(inner: inner)
    }

    /// The skip: a klog line at info level in whose message no rule's literal occurs, so no rule can
    /// match it and nothing but the counts would see it, is held as its payload (the next line may
    /// continue it) and counted when the next event starts. Its header is read by the parse the
    /// event path uses (`KlogFormat.header`), its time and the parse state after it are what that
    /// path would make. Lines under a journald short prefix (whose year is a guess a payload
    /// corrects) always take the event path.
    @inline(__always)
    private mutating func skipLine(_ u: Unwrapped, _ deliver: (borrowing LogEvent) -> Void) -> Bool {
        guard u.payload.first == 0x49, u.envelope != .journaldShort, let h = KlogFormat.header(u.payload, cache: &state.dayCache),
              !skipFilter.occurs(in: ByteScan.slice(u.payload, h.messageStart, u.payload.count))
        else { return false }
        flush(deliver)
        skipState = state
        if let t = u.time {
            skipTime = t
            Self.observe(t, &state)
        } else {
            skipTime = KlogFormat.time(of: h, years: &state.years, dayCache: &state.dayCache)
            state.observedDay = .min
        }
        skipUnwrapped = u
        holdingSkip = true
        pending.startSkipped(u.payload)
        return true
    }

    /// A line's event: the envelope's facts, then the payload's format and header.
    private mutating func parse(_ u: Unwrapped, payload: UnsafeBufferPointer<UInt8>? = nil,
                                into e: UnsafeMutablePointer<LogEvent>) {
        let payload = payload ?? u.payload
        e.pointee.reset(payload: payload)
        e.pointee.input = inputIndex
        e.pointee.lineNumber = lineMap.map { u.firstLine <= $0.count ? $0[u.firstLine - 1] : u.firstLine } ?? u.firstLine
        e.pointee.envelope = u.envelope
        // A journald short prefix has no year (it is guessed): a payload that states one wins.
        let guessedYear = u.envelope == .journaldShort
        e.pointee.time = guessedYear ? nil : u.time
        e.pointee.pid = u.pid
        if let t = u.time {
            // Formats only observe an envelope's time into the tracker (klog), which `observe`
            // below does, and only when the day changed.
            PayloadParser.parse(payload, into: &e.pointee, years: &state.years, observeTime: false,
                                dayCache: &state.dayCache)
            if guessedYear, e.pointee.format.statesYear, let stated = e.pointee.time {
                // The guess was wrong by more than a day (a year off): the prefixes after it learn.
                if abs(stated.nanos - t.nanos) > 86_400_000_000_000 { decoder.observeYear(stated) }
                Self.observe(stated, &state)
            } else {
                e.pointee.time = t
                Self.observe(t, &state)
            }
        } else {
            PayloadParser.parse(payload, into: &e.pointee, years: &state.years, observeTime: true,
                                dayCache: &state.dayCache)
            // A dated line (Rancher, etcd, logrus) tells the year of the klog lines after it.
            if e.pointee.format.statesYear, let t = e.pointee.time { Self.observe(t, &state) } else { state.observedDay = .min }
        }
        if e.pointee.pid == nil { e.pointee.pid = u.pid }
        // The envelope's name first, then what the line says (an event's `From`), then the path's.
        e.pointee.component = u.component ?? e.pointee.component ?? defaultComponent
    }

    /// `years.observe(t)`, skipped when `t` falls in the day last observed.
    @inline(__always)
    private static func observe(_ t: Timestamp, _ s: inout ParseState) {
        let dayNanos: Int64 = 86_400_000_000_000
        var day = t.nanos / dayNanos
        if t.nanos % dayNanos < 0 { day -= 1 }
        if day != s.observedDay {
            s.years.observe(t)
            s.observedDay = day
        }
    }
}

/// The component line quoted in an event (Rancher's `log:`), and the service named before it.
struct QuotedInner {
    var bytes: UnsafeBufferPointer<UInt8>
    var service: Component?
}

/// The event being built while continuation lines may still follow. It points into the reader's
/// buffer (`borrowed`) until `own` copies its bytes, which it must before those move on.
struct PendingEvent: ~Copyable {
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    /// Two event slots: the one held (`slots[held]`) and the one the next line is parsed into
    /// (`incoming`); starting an event swaps their roles instead of copying it. A third slot,
    /// `slots[2]`, holds the quoted inner event while the held one is delivered.
    private let slots: UnsafeMutablePointer<LogEvent>
    private var held = 0
    /// The quoted line inside the event, and the service named before it.
    private var inner: QuotedInner?
    private var inDump = false
    private(set) var active = false
    /// True while the event's views point into memory this does not own.
    private(set) var borrowed = false
    /// Joined events stop growing here; further continuation lines are only counted.
    private let maxBytes = 256 << 10

    init() {
        capacity = 4096
        storage = .allocate(capacity: capacity)
        slots = .allocate(capacity: 3)
        slots.initialize(repeating: LogEvent(payload: UnsafeBufferPointer(start: nil, count: 0)), count: 3)
    }

    deinit {
        storage.deallocate()
        slots.deinitialize(count: 3)
        slots.deallocate()
    }

    /// The event of the line being handled, before it is known to start an event of its own.
    var incoming: UnsafeMutablePointer<LogEvent> { slots + (1 - held) }

    /// A continuation line: indented, part of a Go stack dump, or the blank line inside one.
    func accepts(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        // Plain text (a pasted `kubectl describe`, a script's output) has no events to continue.
        if slots[held].format == .plain && !inDump { return false }
        guard let first = p.first else { return inDump || slots[held].severity == .fatal }
        if first == 0x09 || first == 0x20 { return true }
        if ByteScan.hasPrefix("goroutine ", p) || ByteScan.hasPrefix("created by ", p)
            || ByteScan.hasPrefix("[signal ", p) || ByteScan.hasPrefix("panic: ", p) && inDump {
            return true
        }
        // Function lines of a dump (`main.main()`, `k8s.io/...(0xc000...)`) follow a goroutine header.
        return inDump && (p.last == 0x29 || ByteScan.find("(0x", in: p) != nil || ByteScan.find("...)", in: p) != nil)
    }

    /// Holds `incoming` (its views stay where they are until `own`).
    mutating func start(inner: QuotedInner?) {
        held = 1 - held
        active = true
        borrowed = true
        count = 0
        inDump = ByteScan.hasPrefix("panic: ", slots[held].payload) || ByteScan.hasPrefix("goroutine ", slots[held].payload)
        self.inner = inner
    }

    /// Holds a skipped line (see `EventSource.skipLine`): its payload only, as a klog event at info
    /// level, which is all `accepts` reads of it.
    mutating func startSkipped(_ payload: UnsafeBufferPointer<UInt8>) {
        held = 1 - held
        slots[held].reset(payload: payload)
        slots[held].format = .klog
        active = true
        borrowed = true
        count = 0
        inDump = false
        inner = nil
    }

    /// The held event's slot and its payload (for parsing a held skipped line after all).
    var heldSlot: UnsafeMutablePointer<LogEvent> { slots + held }
    var heldPayload: UnsafeBufferPointer<UInt8> { slots[held].payload }

    /// The held skipped line was parsed into its slot: it is held as any event is.
    mutating func startParsed() {
        inDump = ByteScan.hasPrefix("panic: ", slots[held].payload) || ByteScan.hasPrefix("goroutine ", slots[held].payload)
    }

    /// Lets the held event go undelivered (a skipped line, counted by the event source).
    mutating func drop() {
        active = false
        inner = nil
    }

    /// Copies the held event's bytes into storage and points its views there.
    mutating func own() {
        guard active, borrowed else { return }
        count = 0
        let payload = slots[held].payload
        copyIn(payload)
        borrowed = false
        let all = UnsafeBufferPointer(start: UnsafePointer(storage), count: count)
        func rebase(_ v: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
            guard let b = payload.baseAddress, let s = v.baseAddress else { return ByteScan.slice(all, 0, 0) }
            let o = s - b
            return ByteScan.slice(all, o, o + v.count)
        }
        slots[held].payload = all
        slots[held].message = rebase(slots[held].message)
        slots[held].sourceFile = slots[held].sourceFile.map(rebase)
        slots[held].host = slots[held].host.map(rebase)
        if let i = inner { inner = QuotedInner(bytes: rebase(i.bytes), service: i.service) }
    }

    mutating func append(_ p: UnsafeBufferPointer<UInt8>) {
        own()
        slots[held].lineCount += 1
        if ByteScan.hasPrefix("goroutine ", p) || ByteScan.hasPrefix("panic: ", p) { inDump = true }
        guard count + 1 + p.count <= maxBytes else { return }
        copyIn(p, newline: true)
        slots[held].payload = UnsafeBufferPointer(start: UnsafePointer(storage), count: count)
    }

    private mutating func copyIn(_ p: UnsafeBufferPointer<UInt8>, newline: Bool = false) {
        let need = count + p.count + (newline ? 1 : 0)
        if need > capacity {
            let cap = max(need, capacity * 2)
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
            grown.update(from: storage, count: count)
            storage.deallocate()
            storage = grown
            capacity = cap
            // Views into the old storage follow it.
            if !borrowed { repoint(from: grown) }
        }
        if newline { storage[count] = 0x0A; count += 1 }
        if let b = p.baseAddress, p.count > 0 { (storage + count).update(from: b, count: p.count) }
        count += p.count
    }

    /// After storage moved: the owned views, by their offsets, into the new storage.
    private mutating func repoint(from newBase: UnsafeMutablePointer<UInt8>) {
        guard let old = slots[held].payload.baseAddress else { return }
        let all = UnsafeBufferPointer(start: UnsafePointer(newBase), count: count)
        func move(_ v: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
            guard let s = v.baseAddress else { return v }
            let o = s - old
            return ByteScan.slice(all, o, o + v.count)
        }
        slots[held].message = move(slots[held].message)
        slots[held].sourceFile = slots[held].sourceFile.map(move)
        slots[held].host = slots[held].host.map(move)
        if let i = inner { inner = QuotedInner(bytes: move(i.bytes), service: i.service) }
        slots[held].payload = all
    }

    mutating func deliver(_ body: (borrowing LogEvent) -> Void) {
        active = false
        // The message runs to the end of the payload (and of the lines joined to it).
        if let m = slots[held].message.baseAddress, let p = slots[held].payload.baseAddress {
            slots[held].message = UnsafeBufferPointer(start: m, count: slots[held].payload.count - (m - p))
        }
        if let inner {
            // The quoted line never spans continuation lines.
            var years = YearTracker(year: slots[held].time?.civil.year ?? 1970)
            let ie = slots + 2
            ie.pointee.reset(payload: inner.bytes)
            ie.pointee.input = slots[held].input
            ie.pointee.lineNumber = slots[held].lineNumber
            ie.pointee.isInner = true
            PayloadParser.parse(inner.bytes, into: &ie.pointee, years: &years)
            ie.pointee.component = inner.service
            ie.pointee.host = slots[held].host
            // The outer message ends where the quote begins, so one line is not matched twice.
            if let q = QuotedLogLine.split(slots[held].message) { slots[held].message = q.outer }
            slots[held].innerEvent = UnsafePointer(ie)
            body(slots[held])
            slots[held].innerEvent = nil
            self.inner = nil
        } else {
            body(slots[held])
        }
    }
}

extension LogEvent {
    /// What `LogEvent(payload:)` makes, written over this event in place: the event source reuses
    /// two events for every line instead of making and copying one per line. Every stored property
    /// of `LogEvent` is set here; debug builds check that against a fresh event.
    @inline(__always)
    mutating func reset(payload p: UnsafeBufferPointer<UInt8>) {
        input = 0
        lineNumber = 0
        lineCount = 1
        severity = .info
        time = nil
        pid = nil
        sourceFile = nil
        sourceLine = nil
        component = nil
        format = .plain
        envelope = nil
        payload = p
        message = p
        host = nil
        innerEvent = nil
        isInner = false
        repeats = 1
        assert(resetIsComplete(payload: p), "LogEvent has a stored property reset(payload:) does not set")
    }

    /// Debug check: this event reads as `LogEvent(payload:)` does, and the type has no stored
    /// property beyond the seventeen `reset(payload:)` sets.
    private func resetIsComplete(payload p: UnsafeBufferPointer<UInt8>) -> Bool {
        func same(_ a: UnsafeBufferPointer<UInt8>?, _ b: UnsafeBufferPointer<UInt8>?) -> Bool {
            a?.baseAddress == b?.baseAddress && a?.count == b?.count
        }
        let f = LogEvent(payload: p)
        return LogEvent.storedProperties == 17 && input == f.input && lineNumber == f.lineNumber
            && lineCount == f.lineCount && severity == f.severity && time == f.time && pid == f.pid
            && same(sourceFile, f.sourceFile) && sourceLine == f.sourceLine && component == f.component
            && format == f.format && envelope == f.envelope && same(payload, f.payload) && same(message, f.message)
            && same(host, f.host) && innerEvent == f.innerEvent && isInner == f.isInner && repeats == f.repeats
    }

    private static let storedProperties = Mirror(reflecting: LogEvent(payload: UnsafeBufferPointer(start: nil, count: 0)))
        .children.count
}
