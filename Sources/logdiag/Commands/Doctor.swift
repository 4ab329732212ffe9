import ArgumentParser
import LogArchive
import LogModel

enum DoctorFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown
}

extension ProxyMode: ExpressibleByArgument {}

struct KubeVersionArgument: ExpressibleByArgument {
    let value: KubeVersion
    init?(argument: String) {
        guard let v = KubeVersion(argument) else { return nil }
        value = v
    }
    var defaultValueDescription: String { value.description }
}

extension LogDiag {
    /// `logdiag doctor`: find what will break before Kubernetes is deployed on a node.
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a node (or an LXD profile) for what Kubernetes needs before deploying it: modules, mounts, /dev/kmsg, conntrack, swap, cgroups, AppArmor, sysctls.",
            discussion: """
                Reads /proc, /sys and /dev of this machine (or of --root DIR, or of a Rancher logs-collector \
                --bundle), needs no root and changes nothing: no sysctl is written, writability is judged from \
                permissions, mounts and the network namespace. Each check says pass, warn, fail or skip, what it \
                found, the log line Kubernetes would otherwise write (and the logdiag rule that explains it), and \
                the fix. With --lxd-profile only the profile is checked, unless --root or --bundle is given too.

                  logdiag doctor
                  logdiag doctor --proxy-mode ipvs --kube-proxy-version 1.28.4
                  logdiag doctor --bundle node1-2024-05-01_10_00_00.tar.gz
                  lxc profile show k8s | logdiag doctor --lxd-profile -

                EXIT STATUS
                  0   no check failed (pass, warn and skip only)
                  1   at least one check failed
                  2   the root, bundle or profile could not be read (a one-line message on stderr)
                  64  usage error
                """
        )

        @Option(help: ArgumentHelp("Inspect a copied file system tree instead of /.", valueName: "dir"))
        var root: String?

        @Option(help: ArgumentHelp("Inspect a Rancher logs-collector bundle (.tar.gz, or its unpacked folder): its systeminfo and networking captures.", valueName: "file"))
        var bundle: String?

        @Option(name: .customLong("lxd-profile"), help: ArgumentHelp("Check an LXD profile: the output of `lxc profile show NAME` in a file, or `-` for standard input.", valueName: "file"))
        var lxdProfile: String?

        @Option(help: "kube-proxy's mode; ipvs also checks the IPVS modules.")
        var proxyMode: ProxyMode = .iptables

        @Option(help: ArgumentHelp("The kube-proxy release to judge nf_conntrack_max for (e.g. 1.20.8); default: every release.", valueName: "version"))
        var kubeProxyVersion: KubeVersionArgument?

        @Option(name: [.short, .long], help: "Output format.")
        var output: DoctorFormat = .text

        @Option(help: "Colour for text output: auto (on a terminal, unless NO_COLOR is set), always or never.")
        var color: ColorMode = .auto

        func validate() throws {
            if root != nil && bundle != nil { throw ValidationError("give either --root or --bundle, not both") }
        }

        func run() throws {
            let options = DoctorOptions(proxyMode: proxyMode, kubeProxyVersion: kubeProxyVersion?.value)
            var report: DoctorReport?
            do throws(DoctorError) {
                if let lxdProfile {
                    let text = try LogModel.Doctor.readProfile(lxdProfile)
                    report = try LogModel.Doctor.checkLXDProfile(yaml: text, shownAs: lxdProfile == "-" ? "<stdin>" : lxdProfile,
                                                                 options: options, hostRoot: "/")
                }
                if lxdProfile == nil || root != nil || bundle != nil {
                    let node: DoctorReport
                    if let bundle {
                        node = try LogModel.Doctor.checkBundle(bundle, options: options, packed: LibArchiveReader())
                    } else {
                        node = try LogModel.Doctor.checkRoot(root ?? "/", options: options, packed: LibArchiveReader())
                    }
                    if report == nil { report = node } else { report?.append(node) }
                }
            } catch {
                warn(error.message)
                throw ExitCode(ExitStatus.unreadable)
            }
            guard let report else { return }
            switch output {
            case .text: emit(DoctorTextRenderer(color: Terminal.useColor(color), width: Terminal.width).render(report))
            case .json: emit(report.json())
            case .markdown: emit(DoctorMarkdownRenderer().render(report))
            }
            if report.failed { throw ExitCode(ExitStatus.findings) }
        }
    }
}
