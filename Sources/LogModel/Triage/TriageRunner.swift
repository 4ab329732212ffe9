import Dispatch
import Foundation
import Synchronization

/// One file to read in a triage: where it is on disk, the name to show, how to open it.
public struct TriageItem: Sendable {
    public enum Kind: Sendable {
        case plain, stdin
        /// A compressed file or an archive, read member by member in one pass.
        case packed(InputKind)
    }
    public let path: String
    /// The name shown in reports: the path given (archive members show as `bundle.tar.gz:member/path`).
    public let displayName: String
    public let kind: Kind
    public let size: Int
}

/// Expands triage arguments (files, directories, compressed files, bundles) into items, reads
/// them in parallel on every core, and combines the results. Nothing is unpacked to disk: an
/// archive is one item, read member by member by the analyzer's `PackedReading`.
public final class TriageRunner: Sendable {
    public let ruleSet: RuleSet
    public let analyzer: Analyzer
    /// Group every line no rule explains, not only errors and warnings (diff, baselines).
    public let mineEverything: Bool
    /// Bytes read so far, for the progress line.
    public let progress = ProgressCounter()

    public init(ruleSet: RuleSet, analyzer: Analyzer, mineEverything: Bool = false) {
        self.ruleSet = ruleSet
        self.analyzer = analyzer
        self.mineEverything = mineEverything
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
            // What the file is, by its bytes: only regular files are opened, without waiting.
            let kind: InputKind
            do throws(InputError) {
                let source = try FileDescriptorSource.open(path: path)
                kind = InputKind.detect(fd: source.fd)
                close(source.fd)
            } catch {
                let why = error.reason.replacingOccurrences(of: path + ": ", with: "")
                problem(shown, error.skipped ? "skipped: \(why)" : "unreadable: \(why.prefix(1).lowercased() + why.dropFirst())")
                return
            }
            switch kind {
            case .compressed(let what), .archive(let what):
                if analyzer.packed == nil {
                    problem(shown, "skipped: \(what); this build of logdiag reads no compressed files")
                } else {
                    items.append(TriageItem(path: path, displayName: shown, kind: .packed(kind), size: size(path)))
                }
            case .binary:
                problem(shown, "skipped: \(kind.skipReason)")
            case .text:
                items.append(TriageItem(path: path, displayName: shown, kind: .plain, size: size(path)))
            }
        }
        /// A symbolic link found in a directory is followed only to a file inside it.
        func linkLeaves(_ full: String, root: String) -> Bool {
            var lst = stat()
            guard lstat(full, &lst) == 0, (lst.st_mode & S_IFMT) == S_IFLNK else { return false }
            guard let target = realpath(full, nil), let base = realpath(root, nil) else { return true }
            defer { free(target); free(base) }
            let t = String(cString: target), b = String(cString: base)
            return !t.hasPrefix(b.hasSuffix("/") ? b : b + "/")
        }
        func addDirectory(_ dir: String, shown: String) {
            guard let walker = fm.enumerator(atPath: dir) else { problem(shown, "unreadable directory"); return }
            var found: [String] = []
            for case let rel as String in walker {
                var isDir: ObjCBool = false
                let full = (dir as NSString).appendingPathComponent(rel)
                if linkLeaves(full, root: dir) {
                    problem((shown as NSString).appendingPathComponent(rel), "skipped: symbolic link to outside \(shown)")
                    continue
                }
                guard fm.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else { continue }
                found.append(rel)
            }
            for rel in found.sorted() {
                addFile((dir as NSString).appendingPathComponent(rel), shown: (shown as NSString).appendingPathComponent(rel))
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
        let analyzer = self.analyzer.withDatesBeside(items.filter { if case .plain = $0.kind { true } else { false } }.map(\.path))
        let slots = Mutex<[(DiagnosisResults, [InputSummary])?]>(Array(repeating: nil, count: items.count))
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
        return (DiagnosisResults.combine(done.map(\.0)), done.flatMap(\.1))
    }

    private func readOne(_ item: TriageItem, analyzer: Analyzer) -> (DiagnosisResults, [InputSummary]) {
        let diagnoser = Diagnoser(ruleSet: ruleSet, mineEverything: mineEverything)
        var summary = InputSummary(name: item.displayName)
        do throws(InputError) {
            switch item.kind {
            case .plain:
                // `expand` sniffed it already: text.
                let source = try FileDescriptorSource.open(path: item.path)
                defer { close(source.fd) }
                var st = stat()
                let mtime = fstat(source.fd, &st) == 0 ? st.st_mtim.tv_sec : nil
                summary = try analyzer.run(source: CountingSource(source, counter: progress), name: item.displayName,
                                           mtime: mtime, into: diagnoser)
            case .stdin:
                let summaries = try analyzer.run(path: "-", into: diagnoser)
                return (diagnoser.results, summaries)
            case .packed(let kind):
                // Progress counts compressed bytes, added when the input is done.
                defer { progress.add(item.size) }
                var st = stat()
                let mtime = stat(item.path, &st) == 0 ? st.st_mtim.tv_sec : nil
                let summaries = try analyzer.runPacked(path: item.path, name: item.displayName, kind: kind,
                                                       mtime: mtime, into: diagnoser)
                return (diagnoser.results, summaries)
            }
        } catch {
            summary.problem = "unreadable: \(error.description.replacingOccurrences(of: item.path + ": ", with: ""))"
            if diagnoser.results.inputs.isEmpty { _ = diagnoser.addInput(item.displayName) }
        }
        return (diagnoser.results, [summary])
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
