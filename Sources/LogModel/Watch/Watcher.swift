import Dispatch
import Glibc
import Synchronization

/// `logdiag watch`: every source of a node at once, for as long as the node runs.
///
/// One thread, one `poll`: inotify says which file changed, so only that file is read; child
/// pipes (docker, journalctl) wake the same poll. Once a second a sweep catches what inotify
/// cannot say (rotation through a symlink, a full event queue) and globs are matched again for
/// new files. Memory is bounded by two windows: findings are counted by a diagnoser that is
/// replaced every `window` seconds, the one before it kept as results until the next turn, and a
/// file's buffer is freed when the file goes away.
public final class Watcher: @unchecked Sendable {
    public let ruleSet: RuleSet
    public let analyzer: Analyzer
    public let configuration: WatchConfiguration

    /// Said to the user (stderr): a file rotated, a container gone.
    public var notice: (String) -> Void = { _ in }
    /// A finding became active (new, or again after its window passed without evidence).
    public var became: (ReportedFinding, FindingChange) -> Void = { _, _ in }
    /// The first line of an unrecognised error template in the current window.
    public var unrecognised: (UnrecognisedGroup) -> Void = { _ in }
    /// A new snapshot for the metrics and `/findings` (on the watch thread).
    public var published: (WatchSnapshot) -> Void = { _ in }

    public enum FindingChange: String, Sendable { case new, changed, resolved }

    /// Read buffer per stream: small, since hundreds of files are open; it grows for a long line.
    public var streamBufferBytes = 16 << 10
    /// How long a quiet stream keeps its last event for continuation lines (a stack dump).
    public var holdMilliseconds: Int32 = 15
    /// After a wake-up, how long to let more writes arrive before reading: under load one read
    /// takes many lines instead of one.
    public var batchMilliseconds: Int32 = 5
    /// Unix seconds now; tests move it to age findings without waiting.
    public var clock: () -> Double = { Watcher.unixNow() }
    /// Seconds between the sweeps that look at every file and match the globs again.
    public var sweepSeconds = 1.0
    /// How often, at most, counts move into a snapshot while lines arrive (a new finding goes at once).
    public var publishNanoseconds: UInt64 = 50_000_000
    /// Seconds between `docker ps` for `--all-containers`.
    public var discoverSeconds = 10.0

    private let stopFlag = Atomic<Bool>(false)
    /// Uptime (ns) of the last loop turn, for `/healthz`.
    public let heartbeat = Atomic<UInt64>(0)

    public init(ruleSet: RuleSet, analyzer: Analyzer, configuration: WatchConfiguration) {
        self.ruleSet = ruleSet
        self.analyzer = analyzer
        self.configuration = configuration
        diagnoser = Diagnoser(ruleSet: ruleSet)
        epochStart = 0
    }

    public func stop() { stopFlag.store(true, ordering: .relaxed) }
    public var stopped: Bool { stopFlag.load(ordering: .relaxed) }

    // MARK: state

    final class Stream {
        var events: EventSource<FileDescriptorSource>
        let fd: Int32
        let name: String
        /// Index into `configuration.sources`.
        let source: Int
        var device: UInt64 = 0
        var inode: UInt64 = 0
        var watch: Int32 = -1
        var lastData: UInt64 = 0
        var held = false
        /// Lines already counted into `linesRead` and into the current window's input.
        var countedLines = 0
        var windowLines = 0
        var windowBytes = 0
        /// Newest event time (ns) of a command's stream, and the time up to which a restarted
        /// command repeats what was read before (`--since` includes the line at that time).
        var newest: Int64?
        var dropThrough: Int64?

        init(fd: Int32, name: String, source: Int, index: Int, options: ParseOptions, capacity: Int) {
            self.fd = fd
            self.name = name
            self.source = source
            events = EventSource(source: FileDescriptorSource(fd: fd, name: name), inputIndex: index, options: options,
                                 capacity: capacity)
        }
    }

    /// A docker container or journalctl being followed: its child and when to start it again.
    final class Command {
        let name: String
        let source: Int
        let executable: String
        let arguments: (Double?) -> [String]
        var child: Subprocess.Child?
        var stream: Stream?
        var backoff = 1.0
        var startAt: UInt64 = 0
        var startedAt: UInt64 = 0
        /// Unix time of the newest event read, so a restart asks only for what came after it.
        var lastTime: Double?
        /// Gone for good (a removed container under `--all-containers`): not started again.
        var retired = false

        init(name: String, source: Int, executable: String, arguments: @escaping (Double?) -> [String]) {
            self.name = name
            self.source = source
            self.executable = executable
            self.arguments = arguments
        }
    }

    private var diagnoser: Diagnoser
    /// The window before this one, as results: its findings stay visible until they age out.
    private var previous: DiagnosisResults?
    private var epochStart: Double
    private var files: [String: Stream] = [:]
    private var commands: [String: Command] = [:]
    private var watches: [Int32: [String]] = [:]
    private var inotify: Int32 = -1
    /// Where reading stopped in a file that was renamed away, by device and inode: when the glob
    /// also matches the new name (`a.log` -> `a.log.1`) it is read on from there.
    private struct FileID: Hashable { let device: UInt64, inode: UInt64 }
    private var readUpTo: [FileID: (offset: off_t, lines: Int, at: Double)] = [:]
    /// Paths that are not text logs (compressed rotations): said once, not opened again.
    private var notText: Set<String> = []
    private var linesRead: [Int] = []

    private struct TrackedID: Hashable { let rule: Int, key: [String] }
    private struct Tracked {
        var total = 0
        var windowCount = 0
        var lastChange = 0.0
        var active = false
        var lastSaid = 0.0
        var saidTotal = 0
    }
    private var tracked: [TrackedID: Tracked] = [:]
    private struct UnrecognisedID: Hashable { let severity: Severity, component: String }
    private var unrecognisedTotals: [UnrecognisedID: Int] = [:]
    private var unrecognisedWindow: [UnrecognisedID: Int] = [:]
    /// Events were read since the last snapshot; a new finding asks for one at once.
    private var changed = true
    private var urgent = false

    // MARK: the loop

    /// Runs until `stop()`. Throws only when nothing can be watched at all.
    public func run() throws(InputError) {
        inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        defer { if inotify >= 0 { Glibc.close(inotify) } }
        if inotify < 0 { notice("inotify is not available; files are looked at once a second") }
        linesRead = [Int](repeating: 0, count: configuration.sources.count)
        epochStart = clock()
        attach(diagnoser)
        try startSources()
        var lastSweep = Watcher.uptime(), lastDiscover: UInt64 = 0, lastPublish: UInt64 = 0
        var dirty: Set<String> = []
        while !stopped {
            let now = Watcher.uptime()
            heartbeat.store(now, ordering: .relaxed)
            var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)]
            var polled: [Command] = []
            for c in commands.values where c.stream != nil {
                fds.append(pollfd(fd: c.stream!.fd, events: Int16(POLLIN), revents: 0))
                polled.append(c)
            }
            let anyHeld = files.values.contains { $0.held } || commands.values.contains { $0.stream?.held == true }
            var timeout = Int32(max(1, (Double(lastSweep) + sweepSeconds * 1e9 - Double(now)) / 1e6))
            if anyHeld { timeout = min(timeout, holdMilliseconds) }
            if changed { timeout = min(timeout, Int32(publishNanoseconds / 1_000_000)) }
            if let due = commands.values.filter({ $0.child == nil && !$0.retired }).map(\.startAt).min() {
                timeout = min(timeout, Int32(max(0, (Int64(due) - Int64(now)) / 1_000_000)))
            }
            let woke = poll(&fds, nfds_t(fds.count), max(0, timeout))
            if woke > 0 && batchMilliseconds > 0 { poll(nil, 0, batchMilliseconds) }
            if fds[0].revents & Int16(POLLIN) != 0 { readChanges(into: &dirty) }
            for (k, c) in polled.enumerated() {
                guard let s = c.stream else { continue }
                let before = s.events.reader.bytesRead
                let ok = pump(s)
                let hungUp = fds[k + 1].revents & Int16(POLLHUP | POLLERR) != 0
                if !ok || (hungUp && s.events.reader.bytesRead == before) { end(c) }
            }
            for path in dirty { if let s = files[path] { _ = pump(s) } }
            dirty.removeAll(keepingCapacity: true)
            let after = Watcher.uptime()
            if Double(after - lastSweep) >= sweepSeconds * 1e9 {
                lastSweep = after
                sweep()
            }
            if configuration.sources.contains(.allContainers),
               Double(after - lastDiscover) >= discoverSeconds * 1e9 {
                lastDiscover = after
                discoverContainers()
            }
            for c in commands.values where c.child == nil && !c.retired && c.startAt <= after { start(c) }
            flushQuiet(Watcher.uptime())
            if clock() - epochStart >= Double(configuration.window) { rotate() }
            if urgent || (changed && after - lastPublish >= publishNanoseconds) || after - lastPublish >= 5_000_000_000 {
                lastPublish = after
                publish()
            }
        }
        for s in files.values { close(s, final: true) }
        files.removeAll()
        for c in commands.values {
            c.child?.stop()
            if let s = c.stream { close(s, final: true, closeFD: false) }
            _ = c.child?.finish()
        }
        publish()
    }

    // MARK: sources

    private func startSources() throws(InputError) {
        var watchable = false
        for (i, source) in configuration.sources.enumerated() {
            switch source {
            case .files(let pattern):
                watchDirectory(of: pattern)
                let matches = Follower.glob(pattern)
                if matches.isEmpty { notice("waiting for files matching \(pattern)") }
                for path in matches { openFile(path, source: i, lastLines: configuration.tail) }
                watchable = true
            // A missing tool leaves the other sources running: said once, and fatal only when
            // nothing else can be watched.
            case .container(let name):
                guard let docker = Subprocess.which("docker") else {
                    notice("docker is not installed (not found on PATH): container \(name) is not followed")
                    continue
                }
                addContainer(name, source: i, docker: docker)
                watchable = true
            case .allContainers:
                guard Subprocess.which("docker") != nil else {
                    notice("docker is not installed (not found on PATH): --all-containers follows nothing")
                    continue
                }
                watchable = true
            case .journal(let units):
                guard let journalctl = Subprocess.which("journalctl") else {
                    notice("journalctl is not installed (not found on PATH): journald is not read")
                    continue
                }
                let tail = configuration.tail, dir = configuration.journalDirectory
                let name = units.isEmpty ? "journal" : "journal:" + units.joined(separator: ",")
                let c = Command(name: name, source: i, executable: journalctl) { since in
                    var args = ["--follow", "--output=json", "--no-pager"]
                    if let dir { args.append("--directory=" + dir) }
                    if let since { args.append("--since=@" + String(Int(since) + 1)) } else { args.append("--lines=\(tail)") }
                    return args + (units.isEmpty ? WatchSource.defaultUnits : units).map { "--unit=" + $0 }
                }
                commands[name] = c
                watchable = true
            }
        }
        if !watchable { throw InputError("nothing can be watched: no file pattern, and docker or journalctl is missing") }
    }

    private func addContainer(_ name: String, source: Int, docker: String) {
        let tail = configuration.tail
        let c = Command(name: name, source: source, executable: docker) { since in
            var args = ["logs", "--follow", "--timestamps"]
            if let since { args += ["--since", Timestamp(nanos: Int64(since * 1e9)).rfc3339] } else { args += ["--tail", String(tail)] }
            return args + [name]
        }
        commands["docker:" + name] = c
    }

    /// `--all-containers`: containers that started since the last look are followed; those gone
    /// from `docker ps -a` are dropped once their stream ends.
    private func discoverContainers() {
        guard let docker = Subprocess.which("docker"),
              let i = configuration.sources.firstIndex(of: .allContainers) else { return }
        let (status, out) = Subprocess.output(docker, ["ps", "--format", "{{.Names}}"], limit: 1 << 20)
        guard status == 0 else { return }
        let running = Set(String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init))
        for name in running.sorted() where commands["docker:" + name] == nil {
            addContainer(name, source: i, docker: docker)
            notice("following container \(name)")
        }
        for (key, c) in commands where c.source == i && !running.contains(c.name) && c.child == nil {
            commands[key] = nil
        }
        for c in commands.values where c.source == i { c.retired = !running.contains(c.name) }
    }

    private func start(_ c: Command) {
        do throws(InputError) {
            let child = try Subprocess.spawnReading(c.executable, c.arguments(c.lastTime), mergeStderr: true)
            let fd = child.source.fd
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            c.child = child
            c.startedAt = Watcher.uptime()
            let s = Stream(fd: fd, name: c.name, source: c.source, index: diagnoser.addInput(c.name),
                           options: analyzer.options(for: c.name, mtime: nil), capacity: streamBufferBytes)
            s.dropThrough = c.lastTime.map { Int64($0 * 1e9) }
            c.stream = s
        } catch {
            notice("\(c.name): \(error.description)")
            c.startAt = Watcher.uptime() + UInt64(c.backoff * 1e9)
            c.backoff = min(c.backoff * 2, 30)
        }
    }

    /// The child's stream ended (a container restart, journalctl killed): start it again with
    /// backoff, from the time of the last event read.
    private func end(_ c: Command) {
        guard let s = c.stream, let child = c.child else { return }
        close(s, final: true, closeFD: false)
        if let t = s.newest { c.lastTime = Double(t) / 1e9 }
        let (status, _) = child.finish()
        c.stream = nil
        c.child = nil
        let ran = Double(Watcher.uptime() - c.startedAt) / 1e9
        if ran >= 10 { c.backoff = 1 }
        if !c.retired {
            notice("\(c.name): the log stream ended (exit status \(status)); reattaching in \(Int(c.backoff))s")
        }
        c.startAt = Watcher.uptime() + UInt64(c.backoff * 1e9)
        c.backoff = min(c.backoff * 2, 30)
    }

    // MARK: files

    func excluded(_ path: String) -> Bool {
        configuration.exclude.contains { fnmatch($0, path, 0) == 0 }
    }

    private func openFile(_ path: String, source: Int, lastLines: Int = .max) {
        guard files[path] == nil, !notText.contains(path), !excluded(path) else { return }
        let src: FileDescriptorSource
        do throws(InputError) { src = try FileDescriptorSource.open(path: path) } catch {
            notice(error.description)
            return
        }
        var st = stat()
        fstat(src.fd, &st)
        let id = FileID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        // The same file through two globs (/var/log/containers links into /var/log/pods): once.
        if files.values.contains(where: { $0.device == id.device && $0.inode == id.inode }) {
            Glibc.close(src.fd)
            return
        }
        let kind = InputKind.detect(fd: src.fd)
        guard kind == .text else {
            Glibc.close(src.fd)
            notText.insert(path)
            notice("\(path): is \(kind.skipReason), not a growing text log; not followed")
            return
        }
        let s = Stream(fd: src.fd, name: path, source: source, index: diagnoser.addInput(path),
                       options: analyzer.options(for: path, mtime: st.st_mtim.tv_sec), capacity: streamBufferBytes)
        s.device = id.device
        s.inode = id.inode
        if let seen = readUpTo.removeValue(forKey: id), off_t(st.st_size) >= seen.offset {
            lseek(src.fd, seen.offset, SEEK_SET)
            s.events.reader.skipLines(seen.lines)
        } else if lastLines != .max {
            let (offset, before) = Follower.lastLines(lastLines, of: src.fd)
            lseek(src.fd, offset, SEEK_SET)
            s.events.reader.skipLines(before)
        }
        s.countedLines = s.events.reader.lineNumber
        if inotify >= 0 {
            s.watch = inotify_add_watch(inotify, path, UInt32(IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF))
            if s.watch >= 0 { watches[s.watch, default: []].append(path) }
        }
        files[path] = s
        changed = true
        _ = pump(s)
    }

    private var watchedDirectories: Set<String> = []
    private var rescanSoon = false

    private func watchDirectory(of pattern: String) {
        guard inotify >= 0 else { return }
        let dir = ChangeWatch.directory(of: pattern)
        guard watchedDirectories.insert(dir).inserted else { return }
        let wd = inotify_add_watch(inotify, dir, UInt32(IN_CREATE | IN_MOVED_TO))
        if wd >= 0 { watches[wd] = [] }
    }

    /// Reads the queued inotify events: files that changed are read in this turn; a directory
    /// event asks for the globs to be matched again soon.
    private func readChanges(into dirty: inout Set<String>) {
        let size = 64 << 10
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = read(inotify, buffer, size)
            if n <= 0 { return }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= n {
                let e = buffer.load(fromByteOffset: offset, as: inotify_event.self)
                offset += MemoryLayout<inotify_event>.size + Int(e.len)
                if e.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    dirty.formUnion(files.keys)
                    rescanSoon = true
                    continue
                }
                guard let paths = watches[e.wd] else { continue }
                if paths.isEmpty { rescanSoon = true; continue }
                if e.mask & UInt32(IN_IGNORED) != 0 { watches[e.wd] = nil; continue }
                dirty.formUnion(paths)
            }
        }
    }

    /// Once a second: every file is read and checked for rotation, deletion and truncation, and
    /// globs are matched again for new files.
    private func sweep() {
        for (path, s) in files {
            _ = pump(s)
            check(path, s)
        }
        rescan()
        rescanSoon = false
        let old = clock() - 2 * Double(configuration.window)
        readUpTo = readUpTo.filter { $0.value.at >= old }
    }

    private func rescan() {
        for (i, source) in configuration.sources.enumerated() {
            guard case .files(let pattern) = source else { continue }
            for path in Follower.glob(pattern) where files[path] == nil && !notText.contains(path) && !excluded(path) {
                openFile(path, source: i)
                if files[path] != nil { notice("following new file \(path)") }
            }
        }
    }

    private func check(_ path: String, _ s: Stream) {
        var st = stat()
        if stat(path, &st) != 0 || UInt64(st.st_ino) != s.inode || UInt64(st.st_dev) != s.device {
            // Rotated or deleted: what the old file still holds is read, then the path is free.
            var old = stat()
            let renamed = fstat(s.fd, &old) == 0 && old.st_nlink > 0
            close(s, final: true)
            files[path] = nil
            if renamed {
                readUpTo[FileID(device: s.device, inode: s.inode)] = (lseek(s.fd, 0, SEEK_CUR), s.events.reader.lineNumber, clock())
            }
            if stat(path, &st) == 0 {
                notice("\(path) was rotated; reading the new file")
                openFile(path, source: s.source)
            } else if !renamed {
                notice("\(path) was removed")
            }
            return
        }
        if st.st_size < lseek(s.fd, 0, SEEK_CUR) {
            notice("\(path) was truncated; reading from the start")
            close(s, final: true)
            files[path] = nil
            openFile(path, source: s.source)
        }
    }

    // MARK: reading

    private func pump(_ s: Stream) -> Bool {
        let before = s.events.reader.bytesRead
        do throws(InputError) {
            try s.events.run(final: false) { e in consume(e, s) }
        } catch {
            notice("\(s.name): \(error.description)")
            return false
        }
        if s.events.reader.bytesRead != before {
            s.lastData = Watcher.uptime()
            s.held = true
        }
        return true
    }

    private func consume(_ e: borrowing LogEvent, _ s: Stream) {
        if let t = e.time?.nanos {
            if let cut = s.dropThrough {
                if t <= cut { return }
                s.dropThrough = nil
            }
            if s.newest == nil || t > s.newest! { s.newest = t }
        }
        // An event held for continuation lines may arrive after the snapshot its bytes asked for.
        changed = true
        diagnoser.consume(e)
    }

    private func flushQuiet(_ now: UInt64) {
        let hold = UInt64(holdMilliseconds) * 1_000_000
        func flush(_ s: Stream) {
            guard s.held, now >= s.lastData, now - s.lastData >= hold else { return }
            s.events.flush { e in consume(e, s) }
            s.held = false
        }
        for s in files.values { flush(s) }
        for c in commands.values { if let s = c.stream { flush(s) } }
    }

    /// Stops reading `s`: the event held for continuation lines is delivered, its lines counted.
    private func close(_ s: Stream, final: Bool, closeFD: Bool = true) {
        if final { try? s.events.run(final: true) { e in consume(e, s) } }
        countLines(s)
        diagnoser.finishInput(s.events.inputIndex, lines: s.windowLines, bytes: s.windowBytes, splitLines: 0)
        if s.watch >= 0, inotify >= 0 {
            watches[s.watch]?.removeAll { $0 == s.name }
            if watches[s.watch]?.isEmpty == true {
                inotify_rm_watch(inotify, s.watch)
                watches[s.watch] = nil
            }
        }
        if closeFD { Glibc.close(s.fd) }
        changed = true
    }

    private func countLines(_ s: Stream) {
        let n = s.events.reader.lineNumber - s.countedLines
        guard n > 0 else { return }
        linesRead[s.source] += n
        s.windowLines += n
        s.countedLines = s.events.reader.lineNumber
    }

    // MARK: windows

    private func attach(_ d: Diagnoser) {
        d.onNewFinding = { [unowned self] _ in self.urgent = true }
        d.onNewUnrecognised = { [unowned self] g in self.unrecognised(g) }
    }

    private var allStreams: [Stream] {
        files.keys.sorted().map { files[$0]! } + commands.keys.sorted().compactMap { commands[$0]!.stream }
    }

    /// A new window: the current diagnoser's results become the previous window, every open
    /// stream moves to a new diagnoser, and what is older than that is gone.
    private func rotate() {
        for s in allStreams {
            s.events.flush { e in consume(e, s) }
            s.held = false
        }
        publish()
        for s in allStreams {
            countLines(s)
            diagnoser.finishInput(s.events.inputIndex, lines: s.windowLines, bytes: s.windowBytes, splitLines: 0)
        }
        previous = diagnoser.results
        diagnoser = Diagnoser(ruleSet: ruleSet)
        attach(diagnoser)
        for s in allStreams {
            s.events.inputIndex = diagnoser.addInput(s.name)
            s.windowLines = 0
            s.windowBytes = 0
        }
        for k in tracked.keys { tracked[k]!.windowCount = 0 }
        unrecognisedWindow = [:]
        epochStart = clock()
        // Compressed rotations said once: forgotten when they are gone, so the set stays small.
        notText = notText.filter { access($0, F_OK) == 0 }
        let forget = epochStart - 2 * Double(configuration.window)
        tracked = tracked.filter { $0.value.lastChange >= forget || $0.value.active }
    }

    /// Counts what changed since the last snapshot into the totals, says which findings became
    /// active, changed or resolved, and hands the snapshot on.
    private func publish() {
        changed = false
        urgent = false
        let now = clock()
        for s in allStreams { countLines(s) }
        let current = diagnoser.results
        let window = Double(configuration.window)
        // Counts of the current window into the totals (a window's counts only grow).
        for f in current.allFindings where f.thresholdMet {
            let id = TrackedID(rule: f.ruleIndex, key: f.keyValues)
            var t = tracked[id] ?? Tracked()
            if f.count > t.windowCount {
                t.total += f.count - t.windowCount
                t.windowCount = f.count
                t.lastChange = now
            }
            tracked[id] = t
        }
        var byTemplate: [UnrecognisedID: Int] = [:]
        for miner in [current.unrecognised, current.unrecognisedWarnings] {
            for g in miner.groups {
                byTemplate[UnrecognisedID(severity: g.severity, component: g.component?.name ?? ""), default: 0] += g.count
            }
        }
        for (id, n) in byTemplate {
            let before = unrecognisedWindow[id] ?? 0
            if n > before { unrecognisedTotals[id, default: 0] += n - before }
            unrecognisedWindow[id] = n
        }
        // Both windows' findings, merged: what is still active is reported. (The whole results
        // are merged only when a report is asked for.)
        var merged = current.findings.filter(\.value.thresholdMet)
        for (k, f) in previous?.findings ?? [:] where f.thresholdMet {
            if merged[k] == nil { merged[k] = f } else { merged[k]!.merge(f, evidenceLimit: diagnoser.evidenceLimit) }
        }
        var activeKeys: Set<FindingKey> = []
        var states: [WatchSnapshot.FindingState] = []
        let ordered = merged.sorted { a, b in
            a.key.rule != b.key.rule ? a.key.rule < b.key.rule : a.key.values.lexicographicallyPrecedes(b.key.values)
        }
        for (key, f) in ordered {
            let id = TrackedID(rule: f.ruleIndex, key: f.keyValues)
            guard var t = tracked[id] else { continue }
            let evidenceTime = f.last.map { Double($0.nanos) / 1e9 } ?? t.lastChange
            let lastSeen = min(evidenceTime, t.lastChange)
            let isActive = lastSeen >= now - window
            if isActive { activeKeys.insert(key) }
            let rule = ruleSet.rules[f.ruleIndex]
            states.append(.init(rule: rule.id, severity: rule.severity, component: f.component?.name ?? rule.components.first ?? "",
                                key: f.keyValues, total: t.total, lastSeen: lastSeen, active: isActive))
            if isActive != t.active || (isActive && t.total > t.saidTotal && now - t.lastSaid >= Double(configuration.repeatInterval)) {
                let change: FindingChange = !isActive ? .resolved : (t.active ? .changed : .new)
                t.active = isActive
                t.lastSaid = now
                t.saidTotal = t.total
                tracked[id] = t
                // Input numbers are those of the window the finding was counted in.
                var one = current.findings[key] != nil ? current : (previous ?? current)
                one.findings = [key: f]
                if let r = Report(results: one, ruleSet: ruleSet).allReported.first { became(r, change) }
            }
        }
        // A finding that aged out of both windows without a last look is resolved too.
        for (id, t) in tracked where t.active && !merged.values.contains(where: { $0.ruleIndex == id.rule && $0.keyValues == id.key }) {
            tracked[id]!.active = false
            let rule = ruleSet.rules[id.rule]
            states.append(.init(rule: rule.id, severity: rule.severity, component: rule.components.first ?? "", key: id.key,
                                total: t.total, lastSeen: t.lastChange, active: false))
        }
        var snapshot = WatchSnapshot()
        snapshot.time = now
        snapshot.findings = states.sorted { ($0.rule, $0.key.joined(separator: "\u{0}")) < ($1.rule, $1.key.joined(separator: "\u{0}")) }
        snapshot.unrecognised = unrecognisedTotals.map { .init(severity: $0.key.severity, component: $0.key.component, total: $0.value) }
            .sorted { ($0.severity.rawValue, $0.component) < ($1.severity.rawValue, $1.component) }
        snapshot.linesRead = configuration.sources.enumerated().map { ($0.element.description, linesRead[$0.offset]) }
        snapshot.openSources = files.count + commands.values.filter { $0.stream != nil }.count
        snapshot.windows = (previous.map { [$0] } ?? []) + [current]
        snapshot.activeKeys = activeKeys
        snapshot.ruleSet = ruleSet
        published(snapshot)
    }

    // MARK: clocks

    public static func unixNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func uptime() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
