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
public struct EventSource<Source: ByteSource>: ~Copyable {
    public var reader: LineReader<Source>
    public let inputIndex: Int
    private let decoder: EnvelopeDecoder
    private var years: YearTracker
    private let defaultComponent: Component?
    private var pending: PendingEvent
    public private(set) var events = 0

    public init(source: consuming Source, inputIndex: Int, options: ParseOptions, capacity: Int = 64 << 10) {
        reader = LineReader(source: source, capacity: capacity, maxLineBytes: options.maxLineBytes)
        self.inputIndex = inputIndex
        years = options.year
        decoder = EnvelopeDecoder(years: options.year)
        defaultComponent = options.component
        pending = PendingEvent()
    }

    /// Reads to the end of input (or, with `final == false`, to the end of what is available now)
    /// and delivers every complete event. With `final == false` the last event is held back in
    /// case continuation lines follow; call `flush` when the input goes quiet.
    public mutating func run(final: Bool = true, _ deliver: (borrowing LogEvent) -> Void) throws(InputError) {
        while let line = try reader.next(final: final) {
            let number = reader.lineNumber
            guard let u = decoder.unwrap(line, lineNumber: number) else { continue }
            handle(u, deliver)
        }
        if final {
            if let (rest, first) = decoder.flushPartial() {
                handle(Unwrapped(payload: rest, envelope: nil, time: nil, component: nil, pid: nil, firstLine: first),
                       deliver)
            }
            flush(deliver)
        }
    }

    /// Delivers the event held back for continuation lines.
    public mutating func flush(_ deliver: (borrowing LogEvent) -> Void) {
        if pending.active {
            events += 1
            pending.deliver(deliver)
        }
    }

    private mutating func handle(_ u: Unwrapped, _ deliver: (borrowing LogEvent) -> Void) {
        var e = LogEvent(payload: u.payload)
        e.input = inputIndex
        e.lineNumber = u.firstLine
        e.envelope = u.envelope
        e.time = u.time
        e.pid = u.pid
        PayloadParser.parse(u.payload, into: &e, years: &years)
        if let t = u.time { years.observe(t) }
        e.pid = e.pid ?? u.pid
        e.component = u.component ?? defaultComponent
        if e.format != .plain, let q = QuotedLogLine.split(e.message) {
            e.host = q.host
            var inner = LogEvent(payload: q.inner)
            inner.component = q.service.flatMap { Component(bytes: $0) }
            e.inner = [inner]
        }

        if e.format == .plain, pending.active, pending.accepts(u.payload) {
            pending.append(u.payload)
            return
        }
        flush(deliver)
        pending.start(e)
    }
}

/// The event being built while continuation lines may still follow. Owns a copy of its bytes,
/// because the reader's buffer moves on to the next line.
struct PendingEvent: ~Copyable {
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private var event = LogEvent(payload: UnsafeBufferPointer(start: nil, count: 0))
    /// Offsets of the event's views within `storage`.
    private var messageStart = 0
    private var sourceFile: Range<Int>?
    private var host: Range<Int>?
    private var inner: (range: Range<Int>, service: Component?)?
    private var inDump = false
    private(set) var active = false
    /// Joined events stop growing here; further continuation lines are only counted.
    private let maxBytes = 256 << 10

    init() {
        capacity = 4096
        storage = .allocate(capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// A continuation line: indented, part of a Go stack dump, or the blank line inside one.
    func accepts(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        // Plain text (a pasted `kubectl describe`, a script's output) has no events to continue.
        if event.format == .plain && !inDump { return false }
        guard let first = p.first else { return inDump || event.severity == .fatal }
        if first == 0x09 || first == 0x20 { return true }
        if ByteScan.hasPrefix("goroutine ", p) || ByteScan.hasPrefix("created by ", p)
            || ByteScan.hasPrefix("[signal ", p) || ByteScan.hasPrefix("panic: ", p) && inDump {
            return true
        }
        // Function lines of a dump (`main.main()`, `k8s.io/...(0xc000...)`) follow a goroutine header.
        return inDump && (p.last == 0x29 || ByteScan.find("(0x", in: p) != nil || ByteScan.find("...)", in: p) != nil)
    }

    mutating func start(_ e: LogEvent) {
        active = true
        count = 0
        inDump = ByteScan.hasPrefix("panic: ", e.payload) || ByteScan.hasPrefix("goroutine ", e.payload)
        copyIn(e.payload)
        let base = e.payload.baseAddress
        func offset(_ v: UnsafeBufferPointer<UInt8>) -> Range<Int> {
            guard let b = base, let s = v.baseAddress else { return 0..<0 }
            let o = s - b
            return o..<(o + v.count)
        }
        messageStart = offset(e.message).lowerBound
        sourceFile = e.sourceFile.map(offset)
        host = e.host.map(offset)
        inner = e.inner.first.map { (offset($0.payload), $0.component) }
        event = e
        event.inner = []
    }

    mutating func append(_ p: UnsafeBufferPointer<UInt8>) {
        event.lineCount += 1
        if ByteScan.hasPrefix("goroutine ", p) || ByteScan.hasPrefix("panic: ", p) { inDump = true }
        guard count + 1 + p.count <= maxBytes else { return }
        copyIn(p, newline: true)
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
        }
        if newline { storage[count] = 0x0A; count += 1 }
        if let b = p.baseAddress, p.count > 0 { (storage + count).update(from: b, count: p.count) }
        count += p.count
    }

    mutating func deliver(_ body: (borrowing LogEvent) -> Void) {
        active = false
        let all = UnsafeBufferPointer(start: UnsafePointer(storage), count: count)
        var e = event
        e.payload = all
        e.message = ByteScan.slice(all, messageStart, count)
        e.sourceFile = sourceFile.map { ByteScan.slice(all, $0.lowerBound, $0.upperBound) }
        e.host = host.map { ByteScan.slice(all, $0.lowerBound, $0.upperBound) }
        if let inner {
            // The quoted line is parsed again from the copy; it never spans continuation lines.
            let innerBytes = ByteScan.slice(all, inner.range.lowerBound, inner.range.upperBound)
            var years = YearTracker(year: e.time?.civil.year ?? 1970)
            var ie = LogEvent(payload: innerBytes)
            ie.input = e.input
            ie.lineNumber = e.lineNumber
            ie.isInner = true
            PayloadParser.parse(innerBytes, into: &ie, years: &years)
            ie.component = inner.service
            ie.host = e.host
            // The outer message ends where the quote begins, so one line is not matched twice.
            if let q = QuotedLogLine.split(e.message) { e.message = q.outer }
            e.inner = [ie]
        }
        body(e)
    }
}
