import ArgumentParser
import Foundation
import Glibc
import LogModel

@main
struct LogDiag: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logdiag",
        abstract: "Find why a Kubernetes or Rancher cluster will not come up, from its logs.",
        discussion: """
            Reads logs (files, or standard input when none is given) from kube-proxy, the kubelet, \
            Rancher, RKE, etcd and friends, in any envelope (docker, CRI, json-file, journald, kubectl), \
            and names the root cause, why, and the fix, with the evidence lines.

              docker logs kube-proxy 2>&1 | logdiag
              logdiag kubelet.log rancher-server.log

            \(ExitStatus.help)

            \(LogDiag.defaultCommandOptions)
            """,
        version: LogDiagVersion.current,
        subcommands: [Read.self, Follow.self, Watch.self, Triage.self, Diff.self, Parse.self, Rules.self, Eval.self, Doctor.self],
        defaultSubcommand: Read.self
    )

    /// The options of the default command (`logdiag [FILE...]` is `logdiag read`), taken from its
    /// own help so the top-level `--help` shows them without drifting from them.
    static var defaultCommandOptions: String {
        let help = Read.helpMessage(columns: 80)
        guard let at = help.range(of: "OPTIONS:") else { return "" }
        return "OPTIONS OF THE DEFAULT COMMAND (logdiag [FILE...], the same as logdiag read):" + help[at.upperBound...]
            .replacingOccurrences(of: "\n  -h, --help              Show help information.", with: "")
    }

    /// A closed stdout is an EPIPE for `emit` to handle, not a signal that kills the process.
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        // Swift reads the command line from /proc/self/cmdline: without /proc (a bare chroot) it
        // would see no arguments and read standard input, a false all-clear. Say so instead.
        if CommandLine.arguments.count <= 1, access("/proc/self/cmdline", R_OK) != 0 {
            warn("cannot read the command line: /proc is not mounted (mount -t proc proc /proc)")
            Glibc.exit(ExitStatus.unreadable)
        }
        var args = LogDiag.renamingOldOptions(CommandLine.arguments.dropFirst())
        // As a kubectl plugin (`kubectl logdiag pod/NAME`, through the kubectl-logdiag link) the
        // first word may name a pod to follow.
        let invokedAs = (CommandLine.arguments.first ?? "").split(separator: "/").last.map(String.init) ?? ""
        if invokedAs == "kubectl-logdiag", let first = args.first, first.hasPrefix("pod/") || first.hasPrefix("pods/") {
            args.insert("follow", at: 0)
        }
        main(args)
    }

    /// `--version COMPONENT=VERSION` was the spelling of `--assume-version` before `--version`
    /// printed logdiag's own version: a value with `=` still means the component version.
    static func renamingOldOptions(_ args: ArraySlice<String>) -> [String] {
        var out: [String] = []
        var i = args.startIndex
        var warned = false
        while i < args.endIndex {
            let a = args[i]
            if a == "--" { out += args[i...]; break }
            if a == "--version", i + 1 < args.endIndex, args[i + 1].contains("=") {
                out += ["--assume-version", args[i + 1]]
                i += 2
            } else if a.hasPrefix("--version="), a.dropFirst("--version=".count).contains("=") {
                out.append("--assume-version=" + a.dropFirst("--version=".count))
                i += 1
            } else {
                out.append(a)
                i += 1
                continue
            }
            if !warned {
                warn("--version COMPONENT=VERSION is now --assume-version COMPONENT=VERSION; the old spelling will go")
                warned = true
            }
        }
        return out
    }
}
