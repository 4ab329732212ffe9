/// A Kubernetes or Rancher component, interned as a small number so events carry no string.
public struct Component: Hashable, Sendable, CustomStringConvertible {
    public let id: UInt16

    /// Canonical names; `aliases` maps other spellings (journald identifiers, container names).
    public static let names: [String] = [
        "kube-proxy", "kubelet", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd",
        "rancher", "rancher-agent", "rke", "rke2", "k3s", "containerd", "dockerd", "coredns", "flannel",
        "calico", "cni", "kernel", "systemd", "nginx-ingress", "metrics-server", "cri-o", "kubeadm",
    ]

    static let aliases: [String: String] = [
        "proxy": "kube-proxy", "service-sidekick": "rke", "rke-tools": "rke", "kube-apiserver-": "kube-apiserver",
        "apiserver": "kube-apiserver", "controller-manager": "kube-controller-manager",
        "scheduler": "kube-scheduler", "cattle-cluster-agent": "rancher-agent", "cattle-node-agent": "rancher-agent",
        "rancher-system-agent": "rancher-agent", "share-mnt": "rancher-agent", "docker": "dockerd",
        "crio": "cri-o", "kube-flannel": "flannel", "calico-node": "calico", "rke2-server": "rke2",
        "rke2-agent": "rke2", "k3s-agent": "k3s", "k3s-server": "k3s", "kube-dns": "coredns",
        "rancher-server": "rancher", "ingress-nginx": "nginx-ingress", "controller": "nginx-ingress",
        "default-scheduler": "kube-scheduler",
    ]

    public init?(name: String) {
        let lower = name.lowercased()
        let canonical = Component.aliases[lower] ?? lower
        guard let i = Component.names.firstIndex(of: canonical) else { return nil }
        id = UInt16(i)
    }

    /// Matches a component name given as bytes (journald identifier, kubectl prefix) without a String.
    public init?(bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count > 1, bytes.count < 40 else { return nil }
        for (i, n) in Component.names.enumerated() where n.utf8.count == bytes.count {
            if n.utf8.elementsEqual(bytes) { id = UInt16(i); return }
        }
        for (alias, canonical) in Component.aliases where alias.utf8.count == bytes.count {
            if alias.utf8.elementsEqual(bytes), let c = Component(name: canonical) { id = c.id; return }
        }
        return nil
    }

    public var name: String { Component.names[Int(id)] }
    public var description: String { name }

    /// The component named by a path, e.g. `/var/log/containers/kube-proxy-x_kube-system_kube-proxy-<id>.log`,
    /// `/var/log/pods/kube-system_kube-proxy-x_<uid>/kube-proxy/0.log`, `rke/containerlogs/kube-proxy`,
    /// `journald/kubelet`. The most specific path element wins.
    public static func fromPath(_ path: String) -> Component? {
        let parts = path.split(separator: "/").map(String.init)
        guard !parts.isEmpty else { return nil }
        // /var/log/pods/NS_POD_UID/CONTAINER/N.log: the container directory names it.
        if parts.count >= 2, let last = parts.last, last.hasSuffix(".log"), last.dropLast(4).allSatisfy(\.isNumber) {
            if let c = fromName(parts[parts.count - 2]) { return c }
        }
        // /var/log/containers/POD_NS_CONTAINER-ID.log: the part after the last underscore, less the id.
        if let last = parts.last, last.hasSuffix(".log"), last.split(separator: "_").count >= 3 {
            let container = last.split(separator: "_").last!.dropLast(4)
            if let dash = container.lastIndex(of: "-"), let c = fromName(String(container[..<dash])) { return c }
        }
        for part in parts.reversed() {
            var name = part
            for ext in [".log.gz", ".gz", ".log", ".txt", ".json", ".out"] where name.hasSuffix(ext) {
                name = String(name.dropLast(ext.count))
            }
            if let c = fromName(name) { return c }
        }
        return nil
    }

    /// A container or file name: exact, or a known name followed by a pod suffix (`kube-proxy-x7k2p`).
    static func fromName(_ name: String) -> Component? {
        if let c = Component(name: name) { return c }
        let lower = name.lowercased()
        var best: (String, Int)?
        for n in names + Array(aliases.keys) where lower.hasPrefix(n + "-") || lower.hasPrefix(n + "_")
            || lower.hasPrefix(n + ".") {
            if best == nil || n.count > best!.1 { best = (n, n.count) }
        }
        return best.flatMap { Component(name: $0.0) }
    }
}

extension Component {
    /// A pod name such as `kube-proxy-x7k2p` as bytes.
    static func fromPodBytes(_ b: UnsafeBufferPointer<UInt8>) -> Component? {
        guard b.count < 128 else { return nil }
        return fromName(b.string)
    }
}
