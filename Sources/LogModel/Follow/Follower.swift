import Foundation
import Glibc
import Synchronization

/// What `logdiag follow` watches.
public enum FollowTarget: Sendable {
    /// A docker container name or id.
    case docker(container: String, tail: Int)
    /// A pod through kubectl.
    case pod(name: String, namespace: String?, container: String?, tail: Int)
    /// A file path or glob, followed like `tail -F`: files there at the start are read from their
    /// last `tail` lines, files that appear later from their first.
    case files(pattern: String, tail: Int)
}

/// Follows a running container or growing files, feeding one diagnoser, and reports each finding
/// the moment its evidence arrives. Process ends (container restarts) are reattached with backoff;
/// rotated, truncated and newly created files are picked up.
public final class Follower: @unchecked Sendable {
    public let ruleSet: RuleSet
    public let analyzer: Analyzer
    public let diagnoser: Diagnoser
    /// Set from a signal handler's queue; checked by the loop.
    private let stopFlag = Atomic<Bool>(false)
    /// How long the loop sleeps when nothing wakes it (files are also woken by inotify).
    public var pollMilliseconds: Int32 = 50
    /// How long a quiet stream keeps its last event back for continuation lines (a stack dump)
    /// before reporting it: short, so a finding shows within a fraction of a second.
    public var holdMilliseconds: Int32 = 15
    public var notice: (String) -> Void = { _ in }
    public var found: (ReportedFinding) -> Void = { _ in }
    /// An error-level line no rule knows, the first of its kind: shown as it arrives, like a finding.
    public var unrecognised: (UnrecognisedGroup) -> Void = { _ in }
    /// Called on every turn of the loop, so a terminal can show running counts.
    public var tick: () -> Void = {}
    public var versionOverrides: [String: Version] = [:]

    public init(ruleSet: RuleSet, analyzer: Analyzer) {
        self.ruleSet = ruleSet
        self.analyzer = analyzer
        diagnoser = Diagnoser(ruleSet: ruleSet)
        diagnoser.onNewFinding = { [unowned self] f in self.announce(f) }
        diagnoser.onNewUnrecognised = { [unowned self] g in self.unrecognised(g) }
    }

    /// Time of the newest event seen, so a reattach asks only for what came after it.
    public private(set) var lastEventTime: Timestamp?

    /// After a reattach with `--since`: events up to this time were read before (docker and
    /// kubectl include the event at the `since` time itself), so they are dropped, not counted twice.
    var dropThrough: Timestamp?

    func consume(_ e: borrowing LogEvent) {
        if let cut = dropThrough {
            if let t = e.time, t <= cut { return }
            dropThrough = nil
        }
        if let t = e.time, lastEventTime == nil || t > lastEventTime! { lastEventTime = t }
        diagnoser.consume(e)
    }

    /// For a command's stream: how the followed thing ended (`docker inspect`: "exited with
    /// status 1, restarted 3 times"), said when the stream ends. Nil: only the command's status.
    public var describeEnd: (() -> String?)?
    /// A stream that ran this long without ending was healthy: the backoff starts again at 1 s.
    public var healthySeconds = 10.0

    public func stop() { stopFlag.store(true, ordering: .relaxed) }
    public var stopped: Bool { stopFlag.load(ordering: .relaxed) }

    private func announce(_ f: Finding) {
        let report = Report(results: diagnoser.results, ruleSet: ruleSet, versionOverrides: versionOverrides)
        if let r = report.allReported.first(where: { $0.finding.ruleIndex == f.ruleIndex && $0.finding.keyValues == f.keyValues }) {
            found(r)
        }
    }

    /// Events read and findings reported so far, with each finding's count: for a status line.
    public var counts: (events: Int, findings: [(id: String, count: Int)]) {
        let r = diagnoser.results
        let f = r.allFindings.filter(\.thresholdMet).map { (ruleSet.rules[$0.ruleIndex].id, $0.count) }
            .sorted { $0.1 > $1.1 }
        return (r.events, f)
    }

    /// The report so far (for the summary on exit).
    public var report: Report { Report(results: diagnoser.results, ruleSet: ruleSet, versionOverrides: versionOverrides) }
    /// What was read so far, to build a report from (redacted first, for `--redact`).
    public var results: DiagnosisResults { diagnoser.results }

    // MARK: one followed stream

    /// A stream being read without blocking: a file or a child's pipe.
    final class Stream {
        var events: EventSource<FileDescriptorSource>
        let fd: Int32
        let name: String
        var inode: UInt64 = 0
        var device: UInt64 = 0
        var lastData = DispatchTime.now()
        var held = false

        init(fd: Int32, name: String, index: Int, options: ParseOptions) {
            self.fd = fd
            self.name = name
            events = EventSource(source: FileDescriptorSource(fd: fd, name: name), inputIndex: index, options: options)
        }
    }

    /// Reads what is available; returns false when the stream hit an error.
    func pump(_ s: Stream) -> Bool {
        let before = s.events.reader.bytesRead
        do throws(InputError) {
            try s.events.run(final: false) { e in consume(e) }
        } catch {
            notice("\(s.name): \(error.description)")
            return false
        }
        let now = DispatchTime.now()
        if s.events.reader.bytesRead != before {
            s.lastData = now
            s.held = true
        } else if s.held, now.uptimeNanoseconds - s.lastData.uptimeNanoseconds >= UInt64(holdMilliseconds) * 1_000_000 {
            // Quiet: no continuation line is coming, so deliver the event held back for one.
            s.events.flush { e in consume(e) }
            s.held = false
        }
        return true
    }

    /// Records a stream's line and byte counts when it is closed.
    func finish(_ s: Stream) {
        diagnoser.finishInput(s.events.inputIndex, lines: s.events.reader.lineNumber, bytes: s.events.reader.bytesRead,
                              splitLines: s.events.reader.splitLines)
    }

    func open(_ fd: Int32, name: String, mtime: time_t?) -> Stream {
        let index = diagnoser.addInput(name)
        return Stream(fd: fd, name: name, index: index, options: analyzer.options(for: name, mtime: mtime))
    }

    // MARK: files

    /// Follows files matching `pattern` until stopped. Throws when nothing matches and the
    /// pattern is a plain path that cannot be opened.
    public func followFiles(_ pattern: String, tail: Int = .max) throws(InputError) {
        var streams: [String: Stream] = [:]
        // Files by device and inode, with where reading stopped: a rotated file that the pattern
        // also matches (`a.log` -> `a.log.1`) is read on from there, not again from the start.
        struct FileID: Hashable { let device: UInt64, inode: UInt64 }
        var readUpTo: [FileID: (offset: off_t, lines: Int)] = [:]
        let isGlob = pattern.contains { "*?[".contains($0) }
        let changes = ChangeWatch()
        changes.watch(directoryOf: pattern)
        var notText = Set<String>()
        func openPath(_ path: String, lastLines: Int = .max) throws(InputError) {
            let src = try FileDescriptorSource.open(path: path)
            // A compressed, archived or binary file does not grow as a log: said once, not followed.
            let kind = InputKind.detect(fd: src.fd)
            guard kind == .text else {
                close(src.fd)
                notText.insert(path)
                throw InputError(path: path, reason: "is \(kind.skipReason), not a growing text log (read it with `logdiag triage`)", skipped: true)
            }
            changes.watch(path)
            changes.watch(directoryOf: path)
            var st = stat()
            fstat(src.fd, &st)
            let s = open(src.fd, name: path, mtime: st.st_mtim.tv_sec)
            s.inode = UInt64(st.st_ino)
            s.device = UInt64(st.st_dev)
            if let seen = readUpTo[FileID(device: s.device, inode: s.inode)], off_t(st.st_size) >= seen.offset {
                lseek(src.fd, seen.offset, SEEK_SET)
                s.events.reader.skipLines(seen.lines)
            } else if lastLines != .max {
                // Line numbers stay those of the whole file, so evidence points at the right line.
                let (offset, before) = Follower.lastLines(lastLines, of: src.fd)
                lseek(src.fd, offset, SEEK_SET)
                s.events.reader.skipLines(before)
            }
            streams[path] = s
        }
        let initial = Follower.glob(pattern)
        if initial.isEmpty && !isGlob { try openPath(pattern, lastLines: tail) }
        for p in initial {
            do throws(InputError) { try openPath(p, lastLines: tail) } catch {
                // The one file asked for is not a log: an error, not a wait.
                if !isGlob { throw error.skipped ? InputError("\(p): \(error.reason)") : error }
                notice(error.description)
            }
        }
        if streams.isEmpty { notice("waiting for files matching \(pattern)") }
        var lastScan = DispatchTime.now()
        while !stopped {
            for (path, s) in streams {
                _ = pump(s)
                var st = stat()
                if stat(path, &st) != 0 || UInt64(st.st_ino) != s.inode {
                    // Rotated (renamed away) or deleted: read what the old file still holds, then reopen.
                    try? s.events.run(final: true) { e in consume(e) }
                    var old = stat()
                    let renamed = fstat(s.fd, &old) == 0 && old.st_nlink > 0
                    readUpTo[FileID(device: s.device, inode: s.inode)] = (lseek(s.fd, 0, SEEK_CUR), s.events.reader.lineNumber)
                    finish(s)
                    close(s.fd)
                    streams[path] = nil
                    if stat(path, &st) == 0 {
                        notice("\(path) was rotated; reading the new file")
                        try? openPath(path)
                    } else {
                        // The writer has not made the new file yet; the scan below picks it up.
                        notice(renamed ? "\(path) was rotated; waiting for the new file"
                            : "\(path) was removed; waiting for it to come back")
                    }
                    continue
                }
                let offset = lseek(s.fd, 0, SEEK_CUR)
                if st.st_size < offset {
                    notice("\(path) was truncated; reading from the start")
                    // The event held back for continuation lines was complete: deliver it first.
                    try? s.events.run(final: true) { e in consume(e) }
                    readUpTo[FileID(device: s.device, inode: s.inode)] = nil
                    finish(s)
                    close(s.fd)
                    streams[path] = nil
                    try? openPath(path)
                }
            }
            let now = DispatchTime.now()
            if now.uptimeNanoseconds - lastScan.uptimeNanoseconds > 500_000_000 {
                lastScan = now
                for p in Follower.glob(pattern) where streams[p] == nil && !notText.contains(p) {
                    do throws(InputError) {
                        try openPath(p)
                        notice("following new file \(p)")
                    } catch {
                        notice(error.description)
                    }
                }
            }
            tick()
            changes.wait(streams.values.contains { $0.held } ? holdMilliseconds : pollMilliseconds)
        }
        for (_, s) in streams {
            try? s.events.run(final: true) { e in consume(e) }
            finish(s)
            close(s.fd)
        }
    }

    /// Where the last `n` lines of the file open at `fd` begin, and how many lines come before
    /// them: one pass counts the lines, a second finds where the first kept one starts. Memory
    /// does not depend on `n`, which the user chooses.
    static func lastLines(_ n: Int, of fd: Int32) -> (offset: off_t, linesBefore: Int) {
        let total = lineStart(.max, of: fd).lines
        guard total > n else { return (0, 0) }
        return (lineStart(total - n, of: fd).offset, total - n)
    }

    /// Reads the file from its start to where line `k` (0-based) starts, or to its end when it
    /// has no line `k`; `lines` is how many lines start before that point.
    private static func lineStart(_ k: Int, of fd: Int32) -> (offset: off_t, lines: Int) {
        var lines = 0, position: off_t = 0
        var atLineStart = true
        let size = 256 << 10
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let got = pread(fd, buffer, size, position)
            if got <= 0 { return (position, lines) }
            var i = 0
            while i < got {
                if atLineStart {
                    if lines == k { return (position + off_t(i), lines) }
                    lines += 1
                }
                guard let nl = memchr(buffer + i, 0x0A, got - i) else {
                    atLineStart = false
                    break
                }
                i = buffer.distance(to: nl) + 1
                atLineStart = true
            }
            position += off_t(got)
        }
    }

    static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] {
                let s = String(cString: p)
                var st = stat()
                if stat(s, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { out.append(s) }
            }
        }
        return out
    }

    // MARK: commands (docker logs, kubectl logs)

    /// Runs `command` (its stdout and stderr merged) and reattaches with backoff when it ends,
    /// until stopped. `since` receives the time of the last event so a reattach does not repeat lines.
    public func followCommand(_ executable: String, name: String, arguments: @escaping (Timestamp?) -> [String]) throws(InputError) {
        var backoff = 1.0
        var lastTime: Timestamp?
        var attached = false
        while !stopped {
            let started = DispatchTime.now()
            // What came up to `lastTime` was read already; the command repeats the line at it.
            dropThrough = lastTime
            let child = try Subprocess.spawnReading(executable, arguments(lastTime), mergeStderr: true)
            let fd = child.source.fd
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if attached { notice("reattached to \(name)") }
            attached = true
            let s = open(fd, name: name, mtime: nil)
            while !stopped {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, s.held ? holdMilliseconds : pollMilliseconds)
                let before = s.events.reader.bytesRead
                guard pump(s) else { break }
                let got = s.events.reader.bytesRead != before
                tick()
                // Hung up and nothing more to read: the command ended.
                if pfd.revents & Int16(POLLHUP | POLLERR) != 0 && !got { break }
            }
            try? s.events.run(final: true) { e in consume(e) }
            finish(s)
            if let t = lastEventTime { lastTime = t }
            if stopped {
                // The whole process group: a shell wrapper and what it started. One that ignores
                // SIGTERM is killed after a second, so the exit never hangs on it.
                child.stop()
                _ = child.finish()
                return
            }
            let (status, _) = child.finish()
            // Healthy for a while: start again at 1 s. A crash loop keeps doubling (1, 2, 4 ... 30 s).
            let ran = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            if ran >= healthySeconds { backoff = 1 }
            let how = describeEnd?() ?? "exit status \(status)"
            notice("\(name): the log stream ended (\(how)); reattaching in \(Int(backoff))s")
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(backoff * 1e9)
            while !stopped && DispatchTime.now().uptimeNanoseconds < deadline { poll(nil, 0, 50) }
            backoff = min(backoff * 2, 30)
        }
    }
}

/// Wakes the file loop as soon as a followed file or its directory changes (inotify), so an
/// appended line is read at once rather than at the next poll. Without inotify it just sleeps.
final class ChangeWatch {
    private let fd: Int32
    private var watched: Set<String> = []
    /// Where queued notifications are read to be discarded.
    private var drain = [UInt8](repeating: 0, count: 4096)

    init() { fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }
    deinit { if fd >= 0 { close(fd) } }

    /// Watches `path` itself (through symlinks, as /var/log/containers holds): appends, truncation.
    /// A rotated file's new inode gets its own watch when it is opened.
    func watch(_ path: String) {
        guard fd >= 0 else { return }
        _ = inotify_add_watch(fd, path, UInt32(IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF))
    }

    /// Watches the directory that holds `path` (or a glob's first fixed directory): new and renamed files.
    func watch(directoryOf path: String) {
        guard fd >= 0 else { return }
        let dir = ChangeWatch.directory(of: path)
        guard watched.insert(dir).inserted else { return }
        _ = inotify_add_watch(fd, dir, UInt32(IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_DELETE))
    }

    /// The directory that holds `path`, or a glob's first fixed directory (`/var/log/pods/*/x` is
    /// `/var/log/pods`): where new and renamed files show up.
    static func directory(of path: String) -> String {
        var dir = path
        if let g = dir.firstIndex(where: { "*?[".contains($0) }) { dir = String(dir[..<g]) }
        guard let slash = dir.lastIndex(of: "/") else { return "." }
        return slash == dir.startIndex ? "/" : String(dir[..<slash])
    }

    /// Waits up to `milliseconds` for a change, then discards the queued notifications: the loop
    /// looks at every stream anyway.
    func wait(_ milliseconds: Int32) {
        guard fd >= 0 else {
            poll(nil, 0, milliseconds)
            return
        }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, milliseconds) > 0 else { return }
        while drain.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }
}
