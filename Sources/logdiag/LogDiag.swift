import ArgumentParser
import Foundation
import Glibc

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
        subcommands: [Read.self, Follow.self, Triage.self, Diff.self, Parse.self, Rules.self, Eval.self, Doctor.self],
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
        main(nil)
    }
}
