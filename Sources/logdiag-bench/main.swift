// logdiag-bench: times each stage of the pipeline on one file and counts heap allocations.
//
//   logdiag-bench [--stage read|unwrap|events|prefilter|diagnose|all] [--rules-only] FILE
//
// Stages are cumulative: `read` only splits lines, `unwrap` also removes envelopes, `events` also
// parses payloads and joins continuation lines, `prefilter` also runs the literal prefilter over
// every message, `diagnose` is the whole engine as `logdiag FILE` runs it (without the report).
// Allocations are counted by the malloc wrappers of CMallocCount, linked into this executable only.
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
guard args.count == 1 else {
    fail("usage: logdiag-bench [--stage read|unwrap|events|prefilter|diagnose|all] FILE")
}
let path = args[0]

let t0 = now()
let m0 = ld_malloc_count()
let (rules, errors) = RuleLibrary.load()
if !errors.isEmpty { fail("built-in rules have errors: \(errors[0])") }
let ruleSet: RuleSet
do throws(RuleFileError) { ruleSet = try RuleSet(rules: rules) } catch { fail(error.description) }
let startup = now() - t0
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
