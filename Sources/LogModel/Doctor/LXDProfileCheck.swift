import Foundation
import Yams

/// Checks an LXD profile (`lxc profile show NAME`) or instance configuration (`lxc config show NAME`)
/// for what Kubernetes needs inside the container, and prints the commands that add what is missing.
public struct LXDProfileCheck: Sendable {
    /// The profile's (or instance's) name, used in the commands.
    public let name: String
    /// `profile` for `lxc profile show`, `config` for an instance's `lxc config show`.
    public let scope: String
    public let config: [String: String]
    public let devices: [String: [String: String]]
    public let options: DoctorOptions
    /// The cgroup version of the LXD host, when known: it decides lxc.cgroup vs lxc.cgroup2 keys.
    public let hostCgroupV2: Bool?

    /// Parses the YAML `lxc profile show` prints. Throws when it is not a YAML mapping.
    public init(yaml text: String, options: DoctorOptions = DoctorOptions(), hostCgroupV2: Bool? = nil) throws(DoctorError) {
        let root: Node
        do {
            guard let n = try Yams.compose(yaml: text) else { throw DoctorError("the profile is empty") }
            root = n
        } catch let e as DoctorError {
            throw e
        } catch {
            var first = String(String(describing: error).split(separator: "\n").first ?? "")
            while first.hasSuffix(":") || first.hasSuffix(" ") { first.removeLast() }
            throw DoctorError("the profile is not YAML: \(first)")
        }
        guard let map = root.mapping else { throw DoctorError("the profile is not a YAML mapping (expected the output of `lxc profile show NAME`)") }
        func str(_ n: Node?) -> String? {
            guard let n else { return nil }
            if let s = n.scalar?.string { return s }
            return nil
        }
        var config: [String: String] = [:]
        if let c = map["config"] {
            if let m = c.mapping {
                for (k, v) in m { if let key = str(k) { config[key] = str(v) ?? "" } }
            } else if let s = c.scalar?.string, s.isEmpty || s == "~" || s == "null" {
                // `config:` with nothing under it
            } else {
                throw DoctorError("the profile's config is not a mapping")
            }
        }
        var devices: [String: [String: String]] = [:]
        if let d = map["devices"]?.mapping {
            for (k, v) in d {
                guard let key = str(k), let m = v.mapping else { continue }
                var dev: [String: String] = [:]
                for (dk, dv) in m { if let kk = str(dk) { dev[kk] = str(dv) ?? "" } }
                devices[key] = dev
            }
        }
        guard map["config"] != nil || map["devices"] != nil || map["name"] != nil else {
            throw DoctorError("no config, devices or name: not the output of `lxc profile show NAME`")
        }
        self.name = str(map["name"]).flatMap { $0.isEmpty ? nil : $0 } ?? "NAME"
        self.scope = map["profiles"] != nil || map["expanded_config"] != nil || map["architecture"] != nil ? "config" : "profile"
        self.config = config
        self.devices = devices
        self.options = options
        self.hostCgroupV2 = hostCgroupV2
    }

    static func truthy(_ v: String?) -> Bool {
        guard let v = v?.trimmingCharacters(in: .whitespaces).lowercased() else { return false }
        return ["true", "1", "yes", "on"].contains(v)
    }

    /// `lxc profile set k8s key value`, the value quoted for a POSIX shell when it needs it.
    func setCommand(_ key: String, _ value: String) -> String {
        "lxc \(scope) set \(LXDProfileCheck.shellWord(name)) \(key) \(LXDProfileCheck.shellValue(value))"
    }

    static func shellWord(_ s: String) -> String {
        let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,:/=@%+")
        if !s.isEmpty, s.unicodeScalars.allSatisfy({ safe.contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Single-quoted; a value with newlines becomes "$(printf '...')" so the command stays on one line.
    static func shellValue(_ s: String) -> String {
        guard s.contains("\n") else { return shellWord(s) }
        let body = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "%%")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "'", with: "'\\''")
        return "\"$(printf '\(body)')\""
    }

    public func run() -> DoctorReport {
        DoctorReport(target: "the LXD \(scope == "config" ? "instance" : "profile") \(name)", assumptions: ["kube-proxy mode \(options.proxyMode.rawValue)"],
                     checks: [nesting(), privileged(), kernelModules(), rawLXC(), kmsgDevice()])
    }

    func nesting() -> CheckResult {
        requireTrue(
            "security.nesting", id: "lxd.security-nesting", unset: "default false",
            why: "Docker or containerd inside the container create their own namespaces and mount /proc and /sys for every container; without nesting LXD's AppArmor profile denies those mounts and the runtime cannot start any Kubernetes container.",
            logLine: DoctorLogLine.apparmorDenied("lxd-\(name)_</var/snap/lxd/common/lxd>"), rules: ["node.apparmor-denied"])
    }

    func privileged() -> CheckResult {
        requireTrue(
            "security.privileged", id: "lxd.security-privileged", unset: "default false: an unprivileged container",
            why: "In an unprivileged container root is mapped to an unprivileged host user: /proc/sys and /sys belong to nobody, devices cannot be used, and kube-proxy and the kubelet fail on the first sysctl or device they touch.",
            logLine: "F1107 22:17:44.508405       1 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established: read-only file system",
            rules: ["kube-proxy.conntrack-sysctl-denied", "kube-proxy.conntrack-max-permission"])
    }

    /// A boolean key Kubernetes needs set to true, with the command that sets it.
    private func requireTrue(_ key: String, id: String, unset: String, why: String, logLine: String,
                             rules: [String]) -> CheckResult {
        let v = config[key]
        if LXDProfileCheck.truthy(v) { return CheckResult(id: id, title: key, status: .pass, found: "\(key) is \(v ?? "")") }
        return CheckResult(
            id: id, title: key, status: .fail, found: v.map { "\(key) is \($0)" } ?? "\(key) is not set (\(unset))",
            why: why, logLine: logLine, rules: rules,
            fix: "Set it in the \(scope == "config" ? "instance" : "profile") and restart the container:",
            commands: [setCommand(key, "true")])
    }

    func kernelModules() -> CheckResult {
        let id = "lxd.kernel-modules", title = "linux.kernel_modules"
        let raw = config["linux.kernel_modules"] ?? ""
        let listed = raw.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" }).map { String($0).replacingOccurrences(of: "-", with: "_") }
        // nf_nat depends on nf_conntrack, and ip_vs too: modprobe loads it with them.
        var implied: Set<String> = []
        if listed.contains("nf_nat") || listed.contains("ip_vs") { implied.insert("nf_conntrack") }
        let required = NodeDoctor.requiredModules(options.proxyMode)
        let missing = required.filter { !listed.contains($0) && !implied.contains($0) }
        var details: [String] = []
        if implied.contains("nf_conntrack") && !listed.contains("nf_conntrack") {
            details.append("nf_conntrack is not listed but is loaded with nf_nat, which depends on it")
        }
        if missing.isEmpty {
            return CheckResult(id: id, title: title, status: .pass, found: "linux.kernel_modules lists \(listed.joined(separator: ","))", details: details)
        }
        let newList = (listed.isEmpty ? [] : listed) + missing
        let cmd = setCommand("linux.kernel_modules", newList.joined(separator: ","))
        let rule: (String, String) = {
            let m = missing[0]
            let spec = (NodeDoctor.baseModules + NodeDoctor.ipvsModules).first { $0.name == m }
            return (spec?.rule ?? "kube-proxy.iptables-restore-failed", spec?.logLine ?? DoctorLogLine.iptables)
        }()
        let rules = missing.compactMap { m in (NodeDoctor.baseModules + NodeDoctor.ipvsModules).first { $0.name == m }?.rule }
            .reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        return CheckResult(
            id: id, title: title, status: .fail,
            found: (raw.isEmpty ? "linux.kernel_modules is not set" : "linux.kernel_modules lists \(listed.joined(separator: ","))") + "; missing: " + missing.joined(separator: ", "),
            why: "A container cannot load kernel modules; LXD loads the ones in linux.kernel_modules on the host when the container starts. Without them kube-proxy cannot program iptables (ip_tables, ip6_tables, nf_nat), the runtime has no overlay file system, and Service traffic over the bridge bypasses iptables (br_netfilter)"
                + (options.proxyMode == .ipvs ? "; IPVS mode needs ip_vs, ip_vs_rr, ip_vs_wrr and ip_vs_sh" : "") + ".",
            logLine: rule.1, rules: rules.isEmpty ? [rule.0] : rules,
            fix: "Set it in the \(scope == "config" ? "instance" : "profile") and restart the container:", commands: [cmd], details: details)
    }

    struct RawEntry {
        let key: String
        let value: String
    }

    func rawLXC() -> CheckResult {
        let id = "lxd.raw-lxc", title = "raw.lxc entries"
        let raw = config["raw.lxc"] ?? ""
        var lines = raw.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        func entry(_ line: String) -> RawEntry? {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard !t.hasPrefix("#"), let eq = t.firstIndex(of: "=") else { return nil }
            return RawEntry(key: t[..<eq].trimmingCharacters(in: .whitespaces), value: t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces))
        }
        let entries = lines.compactMap(entry)
        func values(_ keys: String...) -> [String] { entries.filter { keys.contains($0.key) }.map(\.value) }

        var problems: [String] = []
        var details: [String] = []
        var rules: [String] = []
        var logLine: String?
        var replace: [String: String] = [:]   // key → the line that replaces it
        var add: [String] = []

        // AppArmor
        let aa = values("lxc.apparmor.profile", "lxc.aa_profile")
        if aa.contains("unconfined") {
            details.append("lxc.apparmor.profile=unconfined: present")
        } else {
            problems.append(aa.isEmpty ? "lxc.apparmor.profile=unconfined is missing" : "lxc.apparmor.profile is \(aa.last ?? ""), not unconfined")
            rules.append("node.apparmor-unavailable")
            logLine = logLine ?? DoctorLogLine.apparmorUnavailable
            if aa.isEmpty { add.append("lxc.apparmor.profile=unconfined") } else { replace["lxc.apparmor.profile"] = "lxc.apparmor.profile=unconfined"; replace["lxc.aa_profile"] = "lxc.apparmor.profile=unconfined" }
        }
        // Capabilities: an empty lxc.cap.drop clears the list LXC drops by default.
        let capDrop = values("lxc.cap.drop")
        if capDrop.contains("") {
            details.append("lxc.cap.drop= (empty, no capability dropped): present")
        } else {
            problems.append(capDrop.isEmpty ? "lxc.cap.drop= (empty) is missing, so LXC drops its default capabilities" : "lxc.cap.drop drops \(capDrop.joined(separator: " "))")
            rules.append("node.apparmor-unavailable")
            logLine = logLine ?? DoctorLogLine.apparmorUnavailable
            if capDrop.isEmpty { add.append("lxc.cap.drop=") } else { replace["lxc.cap.drop"] = "lxc.cap.drop=" }
        }
        // Devices
        let v1dev = values("lxc.cgroup.devices.allow"), v2dev = values("lxc.cgroup2.devices.allow")
        if v1dev.contains("a") || v2dev.contains("a") {
            details.append((v2dev.contains("a") ? "lxc.cgroup2.devices.allow=a" : "lxc.cgroup.devices.allow=a") + ": present")
            if hostCgroupV2 == true && !v2dev.contains("a") {
                details.append("this host uses cgroup v2, where only lxc.cgroup2.devices.allow=a takes effect")
            }
        } else {
            let key = hostCgroupV2 == true ? "lxc.cgroup2.devices.allow" : "lxc.cgroup.devices.allow"
            problems.append("\(key)=a is missing, so the container may not use /dev/kmsg and other devices")
            rules.append("node.dev-kmsg-missing")
            logLine = logLine ?? DoctorLogLine.kmsgDenied
            add.append("\(key)=a")
            if hostCgroupV2 == nil { details.append("on a cgroup v2 host write lxc.cgroup2.devices.allow=a instead") }
        }
        // proc:rw sys:rw
        let autos = values("lxc.mount.auto")
        let tokens = autos.flatMap { $0.split(separator: " ").map(String.init) }
        let hasProc = tokens.contains("proc:rw"), hasSys = tokens.contains("sys:rw")
        if hasProc && hasSys {
            details.append("lxc.mount.auto with proc:rw sys:rw: present")
        } else {
            let lacking = [hasProc ? nil : "proc:rw", hasSys ? nil : "sys:rw"].compactMap { $0 }
            problems.append("lxc.mount.auto lacks \(lacking.joined(separator: " "))" + (autos.isEmpty ? "" : " (it is \(autos.joined(separator: " ")))"))
            rules.append("kube-proxy.conntrack-sysctl-denied")
            logLine = logLine ?? "F1107 22:17:44.508405       1 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established: read-only file system"
            var kept = tokens.filter { !$0.hasPrefix("proc:") && !$0.hasPrefix("sys:") && $0 != "proc" && $0 != "sys" }
            kept.insert(contentsOf: ["proc:rw", "sys:rw"], at: 0)
            if autos.isEmpty { add.append("lxc.mount.auto=proc:rw sys:rw") } else { replace["lxc.mount.auto"] = "lxc.mount.auto=" + kept.joined(separator: " ") }
        }

        if problems.isEmpty {
            return CheckResult(id: id, title: title, status: .pass, found: "raw.lxc has the AppArmor, capability, device and proc/sys mount entries", details: details)
        }
        // The new raw.lxc: existing lines (replaced where wrong, each key once), then what is missing.
        var out: [String] = []
        var replaced: Set<String> = []
        for line in lines {
            if let e = entry(line), let r = replace[e.key] {
                if !replaced.contains(r) { out.append(r); replaced.insert(r) }
            } else {
                out.append(line)
            }
        }
        out += add
        let cmd = setCommand("raw.lxc", out.joined(separator: "\n"))
        return CheckResult(
            id: id, title: title, status: .fail, found: problems.joined(separator: "; "),
            why: "Kubernetes' runtime inside the container needs to run unconfined by AppArmor (it applies its own profiles), keep every capability (LXC drops sys_module, mac_admin, mac_override, sys_time and sys_rawio by default: containerd then cannot load its AppArmor profile), use every device (/dev/kmsg, /dev/net/tun, loop devices) and write /proc/sys and /sys; LXC's defaults deny each of these.",
            logLine: logLine, rules: rules.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }, fix: "Set it in the \(scope == "config" ? "instance" : "profile") and restart the container:", commands: [cmd], details: details)
    }

    func kmsgDevice() -> CheckResult {
        let id = "lxd.kmsg-device", title = "/dev/kmsg for the kubelet"
        if let (dname, _) = devices.first(where: { $0.value["source"] == "/dev/kmsg" || $0.value["path"] == "/dev/kmsg" }) {
            return CheckResult(id: id, title: title, status: .pass, found: "the device \(dname) passes /dev/kmsg into the container")
        }
        let cmd = "lxc \(scope) device add \(LXDProfileCheck.shellWord(name)) kmsg unix-char source=/dev/kmsg path=/dev/kmsg"
        return CheckResult(
            id: id, title: title, status: .skip,
            found: "no device passes /dev/kmsg in; whether the container makes its own (the tmpfiles.d link of the LXD guide) cannot be seen from the profile: run `logdiag doctor` inside the container",
            why: "The kubelet refuses to start without /dev/kmsg.",
            logLine: DoctorLogLine.kmsgMissing, rules: ["node.dev-kmsg-missing"],
            fix: "Pass the host's device in (command below), or inside the container: echo 'L /dev/kmsg - - - - /dev/null' > /etc/tmpfiles.d/kmsg.conf and reboot it (OOM events are then lost).",
            commands: [cmd])
    }
}
