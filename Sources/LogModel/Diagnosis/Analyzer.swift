import Glibc

/// Reads inputs through the event pipeline into a diagnoser: the one place that wires reader,
/// envelopes, formats and rules together for whole inputs.
public struct Analyzer: Sendable {
    public var options: ParseOptions
    /// `--year`: wins over file times for formats without a year.
    public var year: Int?
    /// The latest date stated by the other inputs of the run (`withDatesBeside`): an input with no
    /// year of its own takes it, so one incident is not dated 2021 in one file and 2026 in another.
    public var dateBeside: (year: Int, month: Int)?
    /// Reads compressed files and archives (`LogArchive`'s libarchive reader); nil in a build
    /// without one, where such inputs are refused with a message.
    public var packed: (any PackedReading)?
    /// How much one compressed input may unpack to (`--max-bytes`).
    public var unpackLimits = UnpackLimits()
    /// Lines no rule can match are counted without becoming events (`EventSource.skipFilter`)
    /// where only the diagnoser sees the events. False parses every line: the reference the
    /// equivalence tests compare with (`LOGDIAG_PARSE_EVERY_LINE=1` in the command).
    public var skipUnmatchableLines = true

    public init(options: ParseOptions = ParseOptions(), year: Int? = nil) {
        self.options = options
        self.year = year
    }

    /// Year for an input whose lines may not carry one: `--year`, else the file's modification
    /// time (the end of the log), else now.
    public func yearTracker(mtime: time_t?) -> YearTracker {
        if let year { return YearTracker(year: year) }
        if let d = dateBeside { return YearTracker(year: d.year, referenceMonth: d.month) }
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

    /// Reads a compressed file or an archive, member by member, into `diagnoser`: one summary per
    /// member read or skipped, and one for `name` itself when a limit or damaged data ended it
    /// early (for a single compressed file, that is its own summary).
    public func runPacked(path: String, name: String, kind: InputKind, mtime: time_t?, into diagnoser: Diagnoser,
                          also: ((borrowing LogEvent) -> Void)? = nil) throws(InputError) -> [InputSummary] {
        guard let packed else { throw InputError(kind.refusal(name)) }
        // One year for the members that state none: from the dated members beside them, found by
        // a first look at the start of the archive (at most 64 MiB decompressed, 64 KiB a member).
        var analyzer = self
        if year == nil, dateBeside == nil {
            var latest: (year: Int, month: Int)?
            let head = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 1)
            defer { head.deallocate() }
            _ = try? packed.read(path: path, limits: UnpackLimits(maxBytes: 64 << 20, maxEntries: unpackLimits.maxEntries),
                                 member: { (_, _, source) throws(InputError) in
                var have = 0
                while have < head.count {
                    let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: head[have...]))
                    if n <= 0 { break }
                    have += n
                }
                let bytes = UnsafeBufferPointer(start: head.baseAddress!.assumingMemoryBound(to: UInt8.self), count: have)
                if let d = ByteScan.firstLineDate(in: bytes), latest == nil || (d.year, d.month) > (latest!.year, latest!.month) {
                    latest = d
                }
            }, skipped: { _, _ in })
            analyzer.dateBeside = latest
        }
        var out: [InputSummary] = []
        let outcome = try packed.read(path: path, limits: unpackLimits, member: { (member, memberTime, source) throws(InputError) in
            let shown = member.isEmpty ? name : "\(name):\(member)"
            // A member time of 0 (1970) is an archiver's placeholder, not a time: the file's own wins.
            let time = memberTime.flatMap { $0 > 0 ? $0 : nil } ?? mtime
            out.append(try analyzer.run(source: source, name: shown, mtime: time, into: diagnoser, also: also))
        }, skipped: { member, reason in
            var s = InputSummary(name: member.isEmpty ? name : "\(name):\(member)")
            s.problem = "skipped: \(reason)"
            out.append(s)
        })
        // A damaged stream is a problem (the input was not wholly read); a limit says where it stopped.
        let ending = outcome.problem.map { "unreadable: \($0)" + (outcome.isArchive ? " (the members before it were read)" : "") }
            ?? outcome.stopped
        if let ending {
            if !outcome.isArchive, out.count == 1, out[0].problem == nil {
                out[0].problem = ending
            } else {
                var s = InputSummary(name: name)
                s.problem = ending
                out.append(s)
            }
        }
        return out
    }

    /// This analyzer with `dateBeside` set from the files among `paths` that state a full date in
    /// their first 64 KiB (the latest of them), unless `--year` was given.
    public func withDatesBeside(_ paths: [String]) -> Analyzer {
        guard year == nil else { return self }
        var latest: (year: Int, month: Int)?
        for p in paths where p != "-" {
            guard let d = Analyzer.statedDate(path: p) else { continue }
            if latest == nil || (d.year, d.month) > (latest!.year, latest!.month) { latest = d }
        }
        var a = self
        a.dateBeside = latest
        return a
    }

    /// The date of the first dated line in the first 64 KiB of a regular file.
    public static func statedDate(path: String) -> (year: Int, month: Int)? {
        guard let source = try? FileDescriptorSource.open(path: path) else { return nil }
        defer { close(source.fd) }
        // Compressed or binary data states no date.
        guard InputKind.detect(fd: source.fd) == .text else { return nil }
        var buf = [UInt8](repeating: 0, count: 64 << 10)
        let n = buf.withUnsafeMutableBytes { pread(source.fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return buf.withUnsafeBufferPointer { ByteScan.firstLineDate(in: UnsafeBufferPointer(rebasing: $0[0..<n])) }
    }

    /// Reads a path (`-` for standard input) into `diagnoser`, also handing each event to `also`.
    /// One summary, or one per member of an archive (some may carry a `problem`).
    @discardableResult
    public func run(path: String, into diagnoser: Diagnoser,
                    also: ((borrowing LogEvent) -> Void)? = nil) throws(InputError) -> [InputSummary] {
        let source: FileDescriptorSource
        var mtime: time_t?
        if path == "-" {
            source = FileDescriptorSource(fd: 0, name: "<stdin>")
        } else {
            // A path given by the user: a FIFO (`<(docker logs x)`) is read as a stream.
            source = try FileDescriptorSource.open(path: path, streams: true)
            var st = stat()
            let regular = fstat(source.fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
            if regular { mtime = st.st_mtim.tv_sec }
            // By its bytes, not its name: compressed files and archives are unpacked as they are
            // read, binaries refused.
            switch regular ? InputKind.detect(fd: source.fd) : .text {
            case .text: break
            case let kind where kind.isPacked:
                close(source.fd)
                return try runPacked(path: path, name: path, kind: kind, mtime: mtime, into: diagnoser, also: also)
            case let kind:
                close(source.fd)
                throw InputError(kind.refusal(path))
            }
        }
        defer { if path != "-" { close(source.fd) } }
        let name = path == "-" ? "<stdin>" : path
        return [try run(source: source, name: name, mtime: mtime, into: diagnoser, also: also)]
    }

    /// Reads any byte source into `diagnoser`.
    @discardableResult
    public func run<S: ByteSource>(source: consuming S, name: String, mtime: time_t?, into diagnoser: Diagnoser,
                                   also: ((borrowing LogEvent) -> Void)? = nil) throws(InputError) -> InputSummary {
        let index = diagnoser.addInput(name)
        // The per-event closures capture only trivial values (an unretained diagnoser, a pointer to
        // the summary). Measured again once most lines stopped becoming events (BENCHMARKS.md,
        // "Skipping lines no rule can match"): plain captures still cost about 290 instructions a
        // line on the klog workload, so these two tricks stay, here and nowhere else.
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
        // Lines no rule can match skip becoming events only where the diagnoser alone sees the events,
        // and it does nothing with unmatched info lines.
        let skipFilter = skipUnmatchableLines && also == nil && !diagnoser.mineEverything
            ? diagnoser.ruleSet.prefilter : nil
        var events = EventSource(source: source, inputIndex: index, options: options(for: name, mtime: mtime),
                                 skipFilter: skipFilter)
        // An input's own first dated line beats every guess.
        var tookFirstDate = false
        if year == nil, mtime == nil || dateBeside != nil { tookFirstDate = try events.takeYearFromFirstDatedLine() }
        func drive<T: ByteSource>(_ source: inout EventSource<T>) throws(InputError) {
            defer {
                summary.pointee.add(source.skipped)
                diagnoser.count(source.skipped)
            }
            if let also {
                try source.run { e in
                    d._withUnsafeGuaranteedRef { $0.consume(e) }
                    summary.pointee.add(e)
                    also(e)
                }
            } else {
                try source.run { e in
                    d._withUnsafeGuaranteedRef { $0.consume(e) }
                    summary.pointee.add(e)
                }
            }
        }
        if EventDocument.looksLikeEvents(try events.reader.peekStart(minimum: 16 << 10)) {
            // `kubectl get events -o json|yaml`: read whole (bounded), one row per event.
            var bytes: [UInt8] = []
            while bytes.count <= EventDocument.maxBytes, let line = try events.reader.next() {
                bytes.append(contentsOf: line)
                bytes.append(0x0A)
            }
            let complete = bytes.count <= EventDocument.maxBytes
            if complete, let doc = EventDocument.convert(bytes) {
                var rows = EventSource(source: MemorySource(doc.text), inputIndex: index, options: options(for: name, mtime: mtime),
                                       skipFilter: skipFilter)
                rows.lineMap = doc.lineMap
                try drive(&rows)
            } else {
                // Not an event list after all (or too large to hold): its lines as they are.
                var lines = EventSource(source: MemorySource(bytes), inputIndex: index, options: options(for: name, mtime: mtime),
                                        skipFilter: skipFilter)
                try drive(&lines)
            }
        }
        try drive(&events)
        diagnoser.finishInput(index, lines: events.reader.lineNumber, bytes: events.reader.bytesRead,
                              splitLines: events.reader.splitLines)
        summary.pointee.lines = events.reader.lineNumber
        summary.pointee.bytes = events.reader.bytesRead
        // Say so when the year of undated lines was a guess (no --year, no date in the input).
        if year == nil, !tookFirstDate, summary.pointee.undatedEvents > 0, summary.pointee.datedEvents == 0 {
            let y = yearTracker(mtime: mtime).year
            let source = dateBeside != nil ? "from the dated inputs beside it"
                : mtime != nil ? "from the file's modification time" : "the current year"
            summary.pointee.yearGuess = "\(y), \(source)"
            diagnoser.markYearGuessed(index)
        }
        return summary.pointee
    }
}
