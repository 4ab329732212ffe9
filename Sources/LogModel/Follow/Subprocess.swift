import Foundation
import Glibc

/// Runs the programs follow reads from (docker, kubectl). Nothing from a log or a bundle is ever
/// run. Each child starts in a process group of its own, so stopping it (Ctrl-C, SIGTERM, a
/// reattach) ends whatever it started too: no orphan is left behind.
public enum Subprocess {
    /// Runs to completion; returns the exit status and the first line of stderr.
    public static func run(_ executable: String, _ args: [String]) -> (status: Int32, stderr: String) {
        do {
            let child = try spawn(executable, args, stdout: .discard, stderr: .pipe)
            return child.finish()
        } catch {
            return (127, error.description)
        }
    }

    /// Runs to completion; the exit status and the first line of its standard output.
    public static func outputLine(_ executable: String, _ args: [String]) -> (status: Int32, line: String) {
        let (status, out) = output(executable, args, limit: 1 << 16)
        return (status, firstLine(Data(out)))
    }

    /// Runs to completion; the exit status and at most `limit` bytes of its standard output
    /// (stderr discarded, so a chatty child never blocks on a full pipe).
    public static func output(_ executable: String, _ args: [String], limit: Int) -> (status: Int32, out: [UInt8]) {
        guard let child = try? spawn(executable, args, stdout: .pipe, stderr: .discard) else { return (127, []) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            let n = buf.withUnsafeMutableBytes { read(child.source.fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        let (status, _) = child.finish()
        return (status, out)
    }

    /// Where a child's output goes.
    public enum Output { case pipe, discard, mergeWithStdout }

    /// A running child, its stdout on a pipe (read as a byte source).
    public final class Child: @unchecked Sendable {
        public let pid: pid_t
        public let source: FileDescriptorSource
        private let stderrFD: Int32
        private var status: Int32?

        init(pid: pid_t, stdoutFD: Int32, stderrFD: Int32) {
            self.pid = pid
            self.stderrFD = stderrFD
            source = FileDescriptorSource(fd: stdoutFD, name: "child")
        }

        deinit {
            if source.fd >= 0 { close(source.fd) }
            if stderrFD >= 0 { close(stderrFD) }
        }

        /// Not yet exited (and not yet reaped).
        public var isRunning: Bool {
            if status != nil { return false }
            var st: Int32 = 0
            let r = waitpid(pid, &st, WNOHANG)
            if r == pid { status = Child.exitStatus(st); return false }
            return r == 0
        }

        /// Sends `sig` to the child's whole process group.
        public func signal(_ sig: Int32) { if status == nil { kill(-pid, sig) } }

        /// SIGTERM to the group, then SIGKILL after `grace` seconds if anything is still running.
        public func stop(grace: Double = 1) {
            signal(SIGTERM)
            let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(grace * 1e9)
            while isRunning && DispatchTime.now().uptimeNanoseconds < deadline { poll(nil, 0, 20) }
            if isRunning { signal(SIGKILL) }
            // A grandchild that ignored SIGTERM goes too, even after its parent exited.
            kill(-pid, SIGKILL)
        }

        /// Waits for the child; its exit status and the first line of its stderr.
        public func finish() -> (Int32, String) {
            var err: [UInt8] = []
            if stderrFD >= 0 {
                var buf = [UInt8](repeating: 0, count: 4096)
                while err.count < 1 << 16 {
                    let n = buf.withUnsafeMutableBytes { read(stderrFD, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    err.append(contentsOf: buf[0..<n])
                }
            }
            if status == nil {
                var st: Int32 = 0
                while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
                status = Child.exitStatus(st)
            }
            return (status!, Subprocess.firstLine(Data(err)))
        }

        static func exitStatus(_ st: Int32) -> Int32 {
            (st & 0x7F) == 0 ? (st >> 8) & 0xFF : 128 + (st & 0x7F)
        }
    }

    /// Starts `executable` with no input, in a new process group, its stdout on a pipe.
    public static func spawn(_ executable: String, _ args: [String], stdout: Output = .pipe,
                             stderr: Output = .pipe) throws(InputError) -> Child {
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        func cloexecPipe(_ p: inout [Int32]) -> Bool {
            guard pipe(&p) == 0 else { return false }
            for fd in p { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return true
        }
        guard cloexecPipe(&outPipe) else { throw InputError.errno(executable, errno) }
        if stderr == .pipe, !cloexecPipe(&errPipe) {
            let code = errno
            close(outPipe[0]); close(outPipe[1])
            throw InputError.errno(executable, code)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if stdout == .discard {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        } else {
            posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        }
        switch stderr {
        case .pipe: posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        case .mergeWithStdout: posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2)
        case .discard: posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Its own process group (killed as one), default signal handling (logdiag ignores SIGPIPE).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setpgroup(&attr, 0)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + args).map { strdup($0) }
        defer { for p in argv { free(p) } }
        var cArgs = argv + [nil]
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attr, &cArgs, environ)
        close(outPipe[1])
        if errPipe[1] >= 0 { close(errPipe[1]) }
        guard rc == 0 else {
            close(outPipe[0])
            if errPipe[0] >= 0 { close(errPipe[0]) }
            throw InputError("\(executable): \(String(cString: strerror(rc)))")
        }
        if stdout == .discard { close(outPipe[0]); outPipe[0] = -1 }
        return Child(pid: pid, stdoutFD: outPipe[0], stderrFD: errPipe[0])
    }

    /// Starts `executable` with its stdout (and, when `mergeStderr`, its stderr) on a pipe.
    public static func spawnReading(_ executable: String, _ args: [String], mergeStderr: Bool = false) throws(InputError) -> Child {
        try spawn(executable, args, stdout: .pipe, stderr: mergeStderr ? .mergeWithStdout : .pipe)
    }

    static func firstLine(_ data: Data) -> String {
        String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    }

    /// The full path of `name` on PATH, or nil.
    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let full = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: full) { return full }
        }
        return nil
    }
}
