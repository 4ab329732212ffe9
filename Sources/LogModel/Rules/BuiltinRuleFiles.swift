/// The YAML files of `Rules/Builtin`, embedded by SwiftPM (`.embedInCode`), so a copied binary
/// carries its library and needs no resource bundle. SwiftPM names each file's bytes after the
/// file; a test fails when a file in the folder is missing from this list.
enum BuiltinRuleFiles {
    static var all: [(name: String, text: String)] {
        [
            ("builtin:kube-proxy.yaml", PackageResources.kube_proxy_yaml),
            ("builtin:networking.yaml", PackageResources.networking_yaml),
            ("builtin:kubelet.yaml", PackageResources.kubelet_yaml),
            ("builtin:node.yaml", PackageResources.node_yaml),
            ("builtin:control-plane.yaml", PackageResources.control_plane_yaml),
            ("builtin:etcd.yaml", PackageResources.etcd_yaml),
            ("builtin:rancher.yaml", PackageResources.rancher_yaml),
            ("builtin:generic.yaml", PackageResources.generic_yaml),
            ("builtin:startup-noise.yaml", PackageResources.startup_noise_yaml),
            ("builtin:runtime.yaml", PackageResources.runtime_yaml),
            ("builtin:rancher-rke1.yaml", PackageResources.rancher_rke1_yaml),
            ("builtin:dns-registry.yaml", PackageResources.dns_registry_yaml),
            ("builtin:cni.yaml", PackageResources.cni_yaml),
            ("builtin:host.yaml", PackageResources.host_yaml),
            ("builtin:rke2-k3s.yaml", PackageResources.rke2_k3s_yaml),
            ("builtin:apiserver.yaml", PackageResources.apiserver_yaml),
            ("builtin:events.yaml", PackageResources.events_yaml),
            ("builtin:etcd-cluster.yaml", PackageResources.etcd_cluster_yaml),
        ].map { ($0.0, String(decoding: $0.1, as: UTF8.self)) }
    }
}
