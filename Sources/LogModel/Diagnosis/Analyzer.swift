import Glibc

/// Reads inputs through the event pipeline into a diagnoser: the one place that wires reader,
/// envelopes, formats and rules together for whole inputs.
public struct Analyzer: Sendable {
    public var options: ParseOptions
    /// `--year`: wins over file times for formats without a year.
    public var year: Int?

    public init(options: ParseOptions = ParseOptions(), year: Int? = nil) {
        self.options = options
        self.year = year
    }

    /// Year for an input whose lines may not carry one: `--year`, else the file's modification
    /// time (the end of the log), else now.
    public func yearTracker(mtime: time_t?) -> YearTracker {
        if let year { return YearTracker(year: year) }
        let t = Timestamp(nanos: Int64(mtime ?? time(nil)) * 1_000_000_000).civil
        return YearTracker(year: t.year, referenceMonth: t.month)
    }

    /// Parse options for an input named `name` (its path names its component when it can).
    public func options(for name: String, mtime: time_t?) -> ParseOptions {
        var o = options
        o.year = yearTracker(mtime: mtime)
        if o.component == nil { o.component = Component.fromPath(name) }
        return o
    }

    /// Reads a path (`-` for standard input) into `diagnoser`, also handing each event to `also`.
    @discardableResult
    public func run(path: String, into diagnoser: Diagnoser,
                    also: ((borrowing LogEvent) -> Void)? = nil) throws(InputError) -> InputSummary {
        let source: FileDescriptorSource
        var mtime: time_t?
        if path == "-" {
            source = FileDescriptorSource(fd: 0, name: "<stdin>")
        } else {
            source = try FileDescriptorSource.open(path: path)
            var st = stat()
            if fstat(source.fd, &st) == 0 { mtime = st.st_mtim.tv_sec }
        }
        defer { if path != "-" { close(source.fd) } }
        let name = path == "-" ? "<stdin>" : path
        return try run(source: source, name: name, mtime: mtime, into: diagnoser, also: also)
    }

    /// Reads any byte source into `diagnoser`.
    @discardableResult
    public func run<S: ByteSource>(source: consuming S, name: String, mtime: time_t?, into diagnoser: Diagnoser,
                                   also: ((borrowing LogEvent) -> Void)? = nil) throws(InputError) -> InputSummary {
        let index = diagnoser.addInput(name)
        // The per-event closures capture only trivial values (an unretained diagnoser, a pointer to
        // the summary): capturing the class and a boxed `var` cost a retain/release pair per event.
        let summary = UnsafeMutablePointer<InputSummary>.allocate(capacity: 1)
        summary.initialize(to: InputSummary(name: name))
        defer {
            summary.deinitialize(count: 1)
            summary.deallocate()
        }
        // `diagnoser` is held by the caller for the whole run; calling through an unmanaged
        // reference with a guaranteed lifetime keeps a retain/release pair off every event
        // (`unowned(unsafe)` still retains around each call).
        let d = Unmanaged.passUnretained(diagnoser)
        var events = EventSource(source: source, inputIndex: index, options: options(for: name, mtime: mtime))
        if year == nil, mtime == nil { try events.takeYearFromFirstDatedLine() }
        if let also {
            try events.run { e in
                d._withUnsafeGuaranteedRef { $0.consume(e) }
                summary.pointee.add(e)
                also(e)
            }
        } else {
            try events.run { e in
                d._withUnsafeGuaranteedRef { $0.consume(e) }
                summary.pointee.add(e)
            }
        }
        diagnoser.finishInput(index, lines: events.reader.lineNumber, bytes: events.reader.bytesRead,
                              splitLines: events.reader.splitLines)
        summary.pointee.lines = events.reader.lineNumber
        summary.pointee.bytes = events.reader.bytesRead
        return summary.pointee
    }
}
