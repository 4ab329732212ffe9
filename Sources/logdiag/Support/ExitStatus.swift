import ArgumentParser
import LogModel
import Glibc

/// Exit statuses, the same for every command.
enum ExitStatus {
    /// Ran; nothing at or above the failure threshold.
    static let clean: Int32 = 0
    /// Found something at or above the failure threshold (`--fail-on`, default error).
    static let findings: Int32 = 1
    /// Could not read an input or a rule file.
    static let unreadable: Int32 = 2
    /// The command line was wrong.
    static let usage: Int32 = 64

    static let help = """
        EXIT STATUS
          0   nothing found at or above the --fail-on severity (default: error)
          1   a finding at or above it
          2   an input or rule file could not be read (or was cut short by
              --max-bytes), or the output could not be written; one line on stderr
          64  usage error
        """
}

/// One line on stderr, prefixed with the program name. File and member names in it come from
/// other people's machines: control and bidi characters are shown escaped, and it stays one line.
func warn(_ message: String) {
    let text = redactStderr ? runRedactor.redact(message) : message
    var line = "logdiag: \(TerminalSafe.escape(text))\n"
    line.withUTF8 { p in _ = write(2, p.baseAddress, p.count) }
}

/// The run's one redactor (`--redact`): the report and stderr mask a value the same way.
let runRedactor = Redactor()
/// Set (before any work starts) when `--redact` was given: stderr is masked too.
nonisolated(unsafe) var redactStderr = false

/// Set once the reader of stdout went away (`| head`): later output is dropped quietly.
nonisolated(unsafe) var stdoutClosed = false

/// Writes to stdout. A closed pipe (`| head -1`) ends the output quietly and the command still
/// exits with the status its findings call for; any other failed write (`> /dev/full`, a
/// disk full) is one line on stderr and exit status 2, never a silent success.
func emit(_ text: String) {
    if stdoutClosed { return }
    var t = text
    t.withUTF8 { p in
        var off = 0
        while off < p.count {
            let n = write(1, p.baseAddress! + off, p.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { stdoutClosed = true; return }
                warn("cannot write the output: \(String(cString: strerror(errno)))")
                exit(ExitStatus.unreadable)
            }
            off += n
        }
    }
}

/// Over-long lines are never dropped: they are read in pieces, and the user is told.
func warnSplit(_ count: Int, limit: Int) {
    if count > 0 {
        warn("\(count) line\(count == 1 ? "" : "s") longer than \(limit) bytes \(count == 1 ? "was" : "were") read in pieces (--max-line-bytes)")
    }
}
