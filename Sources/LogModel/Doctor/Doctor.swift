import Foundation

/// Entry points of `logdiag doctor`: the node checks (this machine, a tree or a bundle) and the
/// LXD profile check.
public enum Doctor {
    /// Node checks through a root directory: `/` for this machine, or a copied tree.
    public static func checkRoot(_ root: String, options: DoctorOptions = DoctorOptions(),
                                 packed: (any PackedReading)? = nil) throws(DoctorError) -> DoctorReport {
        let source = try TreeSource(root: root, packed: packed)
        return NodeDoctor(source: source, options: options).run()
    }

    /// Node checks on a logs-collector bundle (`.tar.gz`, `.tar` or an unpacked folder).
    /// `packed` reads the archive (LogArchive's reader); nothing is unpacked to disk.
    public static func checkBundle(_ path: String, options: DoctorOptions = DoctorOptions(),
                                   packed: (any PackedReading)? = nil) throws(DoctorError) -> DoctorReport {
        let source = try BundleCaptures.load(path: path, packed: packed)
        return NodeDoctor(source: source, options: options).run()
    }

    /// The LXD profile check on YAML text. `hostRoot`, when given and it is an LXD host (it has
    /// /var/snap/lxd or /var/lib/lxd), supplies the cgroup version that chooses between the
    /// lxc.cgroup and lxc.cgroup2 device keys.
    public static func checkLXDProfile(yaml: String, shownAs name: String, options: DoctorOptions = DoctorOptions(),
                                       hostRoot: String? = nil) throws(DoctorError) -> DoctorReport {
        var v2: Bool?
        if let hostRoot, let src = try? TreeSource(root: hostRoot),
           src.fileKind("/var/snap/lxd").exists == true || src.fileKind("/var/lib/lxd").exists == true {
            v2 = src.fileKind("/sys/fs/cgroup/cgroup.controllers") == .regular ? true
                : (src.fileKind("/sys/fs/cgroup").exists == true ? false : nil)
        }
        do {
            return try LXDProfileCheck(yaml: yaml, options: options, hostCgroupV2: v2).run()
        } catch {
            throw DoctorError("\(name): \(error.message)")
        }
    }

    /// Reads a profile file, or standard input for `-`.
    public static func readProfile(_ path: String) throws(DoctorError) -> String {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            if data.isEmpty { throw DoctorError("standard input is empty (pipe `lxc profile show NAME` into it)") }
            return String(decoding: data, as: UTF8.self)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw DoctorError("\(path): No such file or directory")
        }
        if isDir.boolValue { throw DoctorError("\(path): is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DoctorError("\(path): Permission denied")
        }
        return String(decoding: data.prefix(doctorReadLimit), as: UTF8.self)
    }
}
