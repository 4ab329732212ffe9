// logdiag-bench: times each stage of the pipeline on one file and counts heap allocations.
//
//   logdiag-bench [--stage read|unwrap|events|prefilter|diagnose|all] [--rules-only] FILE
//
// Stages are cumulative: `read` only splits lines, `unwrap` also removes envelopes, `events` also
// parses payloads and joins continuation lines, `prefilter` also runs the literal prefilter over
// every message, `diagnose` is the whole engine as `logdiag FILE` runs it (without the report).
// Allocations are counted by the malloc wrappers of CMallocCount, linked into this executable only.
//
//   logdiag-bench --literals            prints the prefilter's literals, one per line
//   logdiag-bench --scan FILE           the literal engine alone: FILE in memory, every line scanned
//
// `--scan` is the figure to compare with other literal engines (scripts/literal-engines.c runs
// Hyperscan the same way): memchr for the lines, then the prefilter on every line, and on every
// line after its first 40 bytes (about a klog header).
// Not part of `swift test`; `scripts/bench.sh` runs it.
import CMallocCount
import Glibc
import LogModel

enum Stage: String, CaseIterable { case read, unwrap, events, prefilter, diagnose }

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func fail(_ message: String) -> Never {
    var text = "logdiag-bench: \(message)\n"
    text.withUTF8 { p in _ = write(2, p.baseAddress, p.count) }
    exit(2)
}

func open(_ path: String) -> FileDescriptorSource {
    do throws(InputError) { return try FileDescriptorSource.open(path: path) } catch { fail(error.description) }
}

struct Outcome {
    var lines = 0
    var bytes = 0
    var events = 0
    var extra = ""
}

func runStage(_ stage: Stage, path: String, ruleSet: RuleSet) -> Outcome {
    var out = Outcome()
    let source = open(path)
    defer { close(source.fd) }
    do throws(InputError) {
        switch stage {
        case .read:
            var reader = LineReader(source: source)
            var sum = 0
            while let line = try reader.next() { sum &+= line.count }
            out.lines = reader.lineNumber
            out.bytes = reader.bytesRead
            out.extra = "line bytes \(sum)"
        case .unwrap:
            var reader = LineReader(source: source)
            let decoder = EnvelopeDecoder(years: YearTracker(year: 2021))
            var sum = 0
            while let line = try reader.next() {
                if let u = decoder.unwrap(line, lineNumber: reader.lineNumber) { sum &+= u.payload.count }
            }
            out.lines = reader.lineNumber
            out.bytes = reader.bytesRead
            out.extra = "payload bytes \(sum)"
        case .events, .prefilter:
            // Through `Analyzer` (as `logdiag` reads files) with no rules, so the pipeline is the
            // one the command runs, specialised for file descriptors.
            let none: RuleSet
            do throws(RuleFileError) { none = try RuleSet(rules: []) } catch { fail(error.description) }
            let diagnoser = Diagnoser(ruleSet: none)
            let analyzer = Analyzer(options: ParseOptions(), year: 2021)
            var tags = 0, messageBytes = 0
            if stage == .events {
                try analyzer.run(path: path, into: diagnoser) { e in messageBytes &+= e.message.count }
            } else {
                let prefilter = ruleSet.prefilter
                try analyzer.run(path: path, into: diagnoser) { e in
                    messageBytes &+= e.message.count
                    prefilter.scan(e.message) { _ in tags += 1 }
                    if let inner = e.innerEvent { prefilter.scan(inner.pointee.message) { _ in tags += 1 } }
                }
            }
            let r = diagnoser.results
            out.lines = r.lines
            out.bytes = r.bytes
            out.events = r.events
            out.extra = "message bytes \(messageBytes)" + (stage == .prefilter ? ", literal hits \(tags)" : "")
        case .diagnose:
            let diagnoser = Diagnoser(ruleSet: ruleSet)
            let analyzer = Analyzer(options: ParseOptions(), year: 2021)
            try analyzer.run(path: path, into: diagnoser)
            let r = diagnoser.results
            out.lines = r.lines
            out.bytes = r.bytes
            out.events = r.events
            let matched = r.allFindings.reduce(0) { $0 + $1.count } + r.noiseLines
            out.extra = "matched events \(matched), findings \(r.allFindings.count), noise lines \(r.noiseLines)"
        }
    } catch {
        fail(error.description)
    }
    return out
}

/// The prefilter on every line of `path`, read whole into memory first: GB/s over the file's size,
/// best of five, for memchr alone, whole lines, and lines after their first 40 bytes.
func scanLiterals(path: String, ruleSet: RuleSet) {
    let fd = Glibc.open(path, O_RDONLY)
    guard fd >= 0 else { fail("cannot open \(path)") }
    var st = stat()
    guard fstat(fd, &st) == 0 else { fail("cannot stat \(path)") }
    let size = Int(st.st_size)
    let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, size))
    defer { buffer.deallocate() }
    var have = 0
    while have < size {
        let n = read(fd, buffer + have, size - have)
        guard n > 0 else { break }
        have += n
    }
    close(fd)
    let prefilter = ruleSet.prefilter
    func best(_ name: String, _ body: () -> Int) {
        var times: [Double] = []
        var count = 0
        for _ in 0..<5 {
            let t = now()
            count = body()
            times.append(now() - t)
        }
        let b = times.min()!
        print("\(name.padding(toLength: 26, withPad: " ", startingAt: 0)) \(Double(Int(Double(have) / b / 1e7)) / 100) GB/s  \(count)")
    }
    func lines(_ each: (UnsafeBufferPointer<UInt8>) -> Bool) -> Int {
        var i = 0, hits = 0
        while i < have {
            let nl = memchr(buffer + i, 0x0A, have - i).map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt8.self) - buffer } ?? have
            if each(UnsafeBufferPointer(start: buffer + i, count: nl - i)) { hits += 1 }
            i = nl + 1
        }
        return hits
    }
    best("memchr (lines)") { lines { _ in true } }
    best("prefilter, whole lines") { lines { prefilter.occurs(in: $0) } }
    best("prefilter, after 40 bytes") { lines { $0.count > 40 && prefilter.occurs(in: UnsafeBufferPointer(rebasing: $0[40...])) } }
}

var args = Array(CommandLine.arguments.dropFirst())
var stages = Stage.allCases
if let i = args.firstIndex(of: "--stage"), i + 1 < args.count {
    let name = args[i + 1]
    args.removeSubrange(i...(i + 1))
    if name != "all" {
        guard let s = Stage(rawValue: name) else { fail("unknown stage \(name)") }
        stages = [s]
    }
}
if args == ["--literals"] {
    let (rules, _) = RuleLibrary.load()
    for r in rules where !r.generic { for l in r.literals { print(l) } }
    for l in RuleSet.versionLiterals { print(l) }
    exit(0)
}
let scanOnly = args.first == "--scan"
if scanOnly { args.removeFirst() }
guard args.count == 1 else {
    fail("usage: logdiag-bench [--stage read|unwrap|events|prefilter|diagnose|all] FILE | --scan FILE | --literals")
}
let path = args[0]
let m0 = ld_malloc_count()
let t0 = now()
let (rules, errors) = RuleLibrary.load()
if !errors.isEmpty { fail("built-in rules have errors: \(errors[0])") }
let ruleSet: RuleSet
do throws(RuleFileError) { ruleSet = try RuleSet(rules: rules) } catch { fail(error.description) }
let startup = now() - t0
if scanOnly {
    scanLiterals(path: path, ruleSet: ruleSet)
    exit(0)
}
print("rules: \(rules.count) rules compiled in \(Int(startup * 1000)) ms, \(ld_malloc_count() - m0) allocations, "
    + "\(ruleSet.prefilter.literalCount) literals")

for stage in stages {
    let m = ld_malloc_count()
    let t = now()
    let o = runStage(stage, path: path, ruleSet: ruleSet)
    let seconds = now() - t
    let allocs = ld_malloc_count() - m
    let mbps = Double(o.bytes) / seconds / 1e6
    let perLine = o.lines > 0 ? Double(allocs) / Double(o.lines) : 0
    func fmt(_ v: Double, _ digits: Int) -> String {
        var s = String(Int((v * pow(10, Double(digits))).rounded()))
        if digits > 0 {
            while s.count <= digits { s = "0" + s }
            s.insert(".", at: s.index(s.endIndex, offsetBy: -digits))
        }
        return s
    }
    print("\(stage.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(fmt(mbps, 0)) MB/s  "
        + "\(fmt(seconds, 3)) s  \(o.lines) lines  \(o.events) events  \(allocs) allocations "
        + "(\(fmt(perLine, 4)) per line)  \(o.extra)")
}
