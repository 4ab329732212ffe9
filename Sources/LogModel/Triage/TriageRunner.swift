import Dispatch
import Foundation
import Synchronization

/// One file to read in a triage: where it is on disk, the name to show, how to open it.
public struct TriageItem: Sendable {
    public enum Kind: Sendable { case plain, gzip, stdin }
    public let path: String
    /// The name shown in reports: the path given, or `bundle.tar.gz:member/path` for archive members.
    public let displayName: String
    public let kind: Kind
    public let size: Int
}

/// Expands triage arguments (files, directories, `.gz`, `.tar`/`.tar.gz` bundles) into items,
/// reads them in parallel on every core, and combines the results.
public final class TriageRunner: Sendable {
    public let ruleSet: RuleSet
    public let analyzer: Analyzer
    /// Group every line no rule explains, not only errors and warnings (diff, baselines).
    public let mineEverything: Bool
    /// Bytes read so far, for the progress line.
    public let progress = ProgressCounter()
    private let tempDirs = Mutex<[String]>([])

    public init(ruleSet: RuleSet, analyzer: Analyzer, mineEverything: Bool = false) {
        self.ruleSet = ruleSet
        self.analyzer = analyzer
        self.mineEverything = mineEverything
    }

    deinit {
        for dir in tempDirs.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: dir) }
    }

    /// Items for `paths`, plus a summary with a problem for each path that cannot be used.
    public func expand(_ paths: [String]) -> (items: [TriageItem], problems: [InputSummary]) {
        var items: [TriageItem] = []
        var problems: [InputSummary] = []
        let fm = FileManager.default
        func problem(_ name: String, _ text: String) {
            var s = InputSummary(name: name)
            s.problem = text
            problems.append(s)
        }
        func size(_ p: String) -> Int { ((try? fm.attributesOfItem(atPath: p))?[.size] as? NSNumber)?.intValue ?? 0 }
        func addFile(_ path: String, shown: String) {
            let lower = path.lowercased()
            if lower.hasSuffix(".tar") || lower.hasSuffix(".tar.gz") || lower.hasSuffix(".tgz") {
                addArchive(path, shown: shown)
            } else if lower.hasSuffix(".gz") {
                items.append(TriageItem(path: path, displayName: shown, kind: .gzip, size: size(path)))
            } else if fm.isReadableFile(atPath: path) {
                items.append(TriageItem(path: path, displayName: shown, kind: .plain, size: size(path)))
            } else {
                problem(shown, "unreadable: permission denied")
            }
        }
        func addDirectory(_ dir: String, shown: String) {
            guard let walker = fm.enumerator(atPath: dir) else { problem(shown, "unreadable directory"); return }
            var found: [String] = []
            for case let rel as String in walker {
                var isDir: ObjCBool = false
                let full = (dir as NSString).appendingPathComponent(rel)
                guard fm.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else { continue }
                found.append(rel)
            }
            for rel in found.sorted() {
                addFile((dir as NSString).appendingPathComponent(rel), shown: (shown as NSString).appendingPathComponent(rel))
            }
        }
        func addArchive(_ path: String, shown: String) {
            let dir = NSTemporaryDirectory() + "logdiag-\(getpid())-\(UUID().uuidString.prefix(8))"
            do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                problem(shown, "cannot make a folder to unpack into: \(error.localizedDescription)")
                return
            }
            tempDirs.withLock { $0.append(dir) }
            let (status, stderr) = Subprocess.run("/usr/bin/env", ["tar", "-xf", path, "-C", dir, "--no-same-owner"])
            if status != 0 {
                problem(shown, "cannot unpack: \(stderr.isEmpty ? "tar exited with status \(status)" : stderr)")
                return
            }
            guard let walker = fm.enumerator(atPath: dir) else { return }
            var members: [String] = []
            for case let rel as String in walker {
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: (dir as NSString).appendingPathComponent(rel), isDirectory: &isDir), !isDir.boolValue {
                    members.append(rel)
                }
            }
            if members.isEmpty { problem(shown, "empty archive") }
            for rel in members.sorted() {
                addFile((dir as NSString).appendingPathComponent(rel), shown: "\(shown):\(rel)")
            }
        }
        var stdinTaken = false
        for path in paths {
            if path == "-" {
                // Standard input, once: `docker logs x 2>&1 | logdiag triage - saved/`.
                if !stdinTaken { items.append(TriageItem(path: "-", displayName: "<stdin>", kind: .stdin, size: 0)) }
                stdinTaken = true
                continue
            }
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
                problem(path, "unreadable: no such file or directory")
                continue
            }
            if isDir.boolValue { addDirectory(path, shown: path) } else { addFile(path, shown: path) }
        }
        return (items, problems)
    }

    /// Reads every item, in parallel over `jobs` threads (largest first), and combines the results
    /// in the order of `items`.
    public func run(_ items: [TriageItem], jobs: Int) -> (results: DiagnosisResults, inputs: [InputSummary]) {
        // One year for the inputs that state none: from the dated inputs beside them.
        let analyzer = self.analyzer.withDatesBeside(items.filter { $0.kind == .plain }.map(\.path))
        let slots = Mutex<[(DiagnosisResults, InputSummary)?]>(Array(repeating: nil, count: items.count))
        let order = items.indices.sorted { items[$0].size > items[$1].size }
        let next = Atomic<Int>(0)
        let workers = max(1, min(jobs, items.count))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let k = next.add(1, ordering: .relaxed).oldValue
                guard k < order.count else { return }
                let i = order[k]
                let outcome = readOne(items[i], analyzer: analyzer)
                slots.withLock { $0[i] = outcome }
            }
        }
        let done = slots.withLock { $0 }.compactMap { $0 }
        return (DiagnosisResults.combine(done.map(\.0)), done.map(\.1))
    }

    private func readOne(_ item: TriageItem, analyzer: Analyzer) -> (DiagnosisResults, InputSummary) {
        let diagnoser = Diagnoser(ruleSet: ruleSet, mineEverything: mineEverything)
        var summary = InputSummary(name: item.displayName)
        do throws(InputError) {
            switch item.kind {
            case .plain:
                let source = try FileDescriptorSource.open(path: item.path)
                defer { close(source.fd) }
                if TriageRunner.looksBinary(fd: source.fd) {
                    summary.problem = "skipped: binary file"
                    summary.bytes = item.size
                    _ = diagnoser.addInput(item.displayName)
                } else {
                    var st = stat()
                    let mtime = fstat(source.fd, &st) == 0 ? st.st_mtim.tv_sec : nil
                    summary = try analyzer.run(source: CountingSource(source, counter: progress), name: item.displayName,
                                               mtime: mtime, into: diagnoser)
                }
            case .stdin:
                summary = try analyzer.run(path: "-", into: diagnoser)
            case .gzip:
                let child = try Subprocess.spawnReading("/usr/bin/env", ["gzip", "-dc", item.path])
                // Progress counts compressed bytes, added when the member is done.
                summary = try analyzer.run(source: child.source, name: item.displayName, mtime: nil, into: diagnoser)
                let (status, err) = child.finish()
                progress.add(item.size)
                if status != 0 { summary.problem = "gzip: \(err.isEmpty ? "exit status \(status)" : err)" }
            }
        } catch {
            summary.problem = "unreadable: \(error.description.replacingOccurrences(of: item.path + ": ", with: ""))"
            if diagnoser.results.inputs.isEmpty { _ = diagnoser.addInput(item.displayName) }
        }
        return (diagnoser.results, summary)
    }

    /// A file whose first 8 KiB are mostly control bytes is not a log.
    static func looksBinary(fd: Int32) -> Bool {
        var buf = [UInt8](repeating: 0, count: 8192)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 8192, 0) }
        guard n > 0 else { return false }
        var control = 0
        for b in buf[0..<n] where b < 0x09 || (b > 0x0D && b < 0x20 && b != 0x1B) { control += 1 }
        return control * 10 > n
    }
}

/// Bytes read so far across threads, for the progress line.
public final class ProgressCounter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    public func add(_ n: Int) { value.add(n, ordering: .relaxed) }
    public var count: Int { value.load(ordering: .relaxed) }
}

/// Counts bytes as they are read.
struct CountingSource<S: ByteSource>: ByteSource {
    var inner: S
    let counter: ProgressCounter

    init(_ inner: S, counter: ProgressCounter) {
        self.inner = inner
        self.counter = counter
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = try inner.read(into: buffer)
        counter.add(n)
        return n
    }
}
