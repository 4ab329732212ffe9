import ArgumentParser
import Foundation
import LogArchive
import LogModel

enum ColorMode: String, ExpressibleByArgument, CaseIterable { case auto, always, never }

/// Options that choose the rules and what they know about versions.
struct RuleOptions: ParsableArguments {
    @Option(name: .customLong("rules"), help: ArgumentHelp("Add rules from a YAML file or a directory of them; a rule with a built-in's id replaces it.", valueName: "file|dir"),
            completion: .file(extensions: ["yaml", "yml"]))
    var ruleFiles: [String] = []

    @Option(name: .customLong("assume-version"), help: ArgumentHelp("A component's version when the logs do not say it, e.g. kube-proxy=1.22.4 (the old spelling --version COMPONENT=VERSION still works).", valueName: "component=version"),
            completion: .list(Component.names.map { "\($0)=" }))
    var versions: [String] = []

    func versionOverrides() throws -> [String: Version] {
        var out: [String: Version] = [:]
        for pair in versions {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let v = Version(parts[1]) else {
                throw ValidationError("--assume-version takes COMPONENT=VERSION, like kube-proxy=1.22.4 (got '\(pair)')")
            }
            guard let c = Component(name: parts[0]) else {
                throw ValidationError("unknown component '\(parts[0])' in --assume-version; known: \(Component.names.joined(separator: ", "))")
            }
            _ = c
            out[parts[0]] = v
        }
        return out
    }

    /// Reads user rule files (a directory contributes its *.yaml / *.yml files, sorted).
    static func readRuleFiles(_ paths: [String]) throws(RuleLoadFailure) -> [(name: String, text: String)] {
        var files: [(String, String)] = []
        for path in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                throw RuleLoadFailure(message: "\(path): no such rule file or directory")
            }
            var names = [path]
            if isDir.boolValue {
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                names = entries.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
                    .map { (path as NSString).appendingPathComponent($0) }
                if names.isEmpty { throw RuleLoadFailure(message: "\(path): no .yaml rule files in this directory") }
            }
            for name in names {
                guard let data = FileManager.default.contents(atPath: name) else {
                    throw RuleLoadFailure(message: "\(name): cannot read the rule file")
                }
                files.append((name, String(decoding: data, as: UTF8.self)))
            }
        }
        return files
    }

    /// The built-in library plus the user's files, compiled. Errors are printed one per line.
    func ruleSet() throws -> RuleSet {
        do {
            let user = try RuleOptions.readRuleFiles(ruleFiles)
            let (rules, errors) = RuleLibrary.load(userFiles: user)
            if !errors.isEmpty {
                for e in errors { warn(e.description) }
                throw ExitCode(ExitStatus.unreadable)
            }
            return try RuleSet(rules: rules)
        } catch let e as RuleLoadFailure {
            warn(e.message)
            throw ExitCode(ExitStatus.unreadable)
        } catch let e as RuleFileError {
            warn(e.description)
            throw ExitCode(ExitStatus.unreadable)
        }
    }
}

struct RuleLoadFailure: Error { let message: String }

/// Options that shape parsing.
struct InputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Year for klog and journald lines, which carry none (default: from the envelope or the last dated line before it, else the file's modification time, else the first dated line of piped input, else now).", valueName: "year"))
    var year: Int?

    @Option(help: ArgumentHelp("Component of lines whose envelope, path or text does not name one (kube-proxy, kubelet, etcd, rancher, ...).", valueName: "name"),
            completion: .list(Component.names))
    var component: String?

    @Option(help: ArgumentHelp("Split lines longer than this many bytes (with a warning).", valueName: "bytes"))
    var maxLineBytes: Int = 8 << 20

    @Option(help: ArgumentHelp("Stop reading a compressed file or bundle after this much decompressed data, e.g. 500M, 8G (the report says where it stopped).", valueName: "size"))
    var maxBytes: String = "4G"

    func analyzer() throws -> Analyzer {
        var o = ParseOptions(maxLineBytes: maxLineBytes)
        if let component {
            guard let c = Component(name: component) else {
                throw ValidationError("unknown component '\(component)'; known: \(Component.names.joined(separator: ", "))")
            }
            o.component = c
        }
        guard maxLineBytes >= 64 else { throw ValidationError("--max-line-bytes must be at least 64") }
        if let year, !(1970...9999).contains(year) { throw ValidationError("--year must be from 1970 to 9999 (got \(year))") }
        guard let limit = UnpackLimits.parseSize(maxBytes) else {
            throw ValidationError("--max-bytes takes a size such as 500M or 8G (got '\(maxBytes)')")
        }
        var a = Analyzer(options: o, year: year)
        a.packed = LibArchiveReader()
        a.unpackLimits.maxBytes = limit
        // The reference path, every line parsed into an event: for checking that skipping lines no
        // rule can match changes no report, and for measuring what it saves.
        if let v = getenv("LOGDIAG_PARSE_EVERY_LINE"), String(cString: v) == "1" { a.skipUnmatchableLines = false }
        return a
    }
}
