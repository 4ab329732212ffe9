import ArgumentParser
import Glibc
import LogModel

/// `--baseline PATH...`: logs of a healthy run; what they print is not an unrecognised failure.
struct BaselineOptions: ParsableArguments {
    @Option(name: .customLong("baseline"), help: ArgumentHelp(
        "Logs of a healthy run (files, directories, bundles); lines whose template they also have are not reported as unrecognised.",
        valueName: "path"))
    var paths: [String] = []

    /// The templates of the baseline, or nil when none was given. Unreadable paths are an error.
    func templates(ruleSet: RuleSet, analyzer: Analyzer) throws -> TemplateMiner? {
        guard !paths.isEmpty else { return nil }
        let (results, problems) = try readEverything(paths, ruleSet: ruleSet, analyzer: analyzer, what: "baseline")
        _ = problems
        return LogDiff.templates(of: results)
    }
}

/// Reads `paths` (files, directories, bundles) grouping every line, for diff and baselines. A
/// path that cannot be read is one line on stderr and exit status 2.
func readEverything(_ paths: [String], ruleSet: RuleSet, analyzer: Analyzer, what: String) throws
    -> (DiagnosisResults, [InputSummary]) {
    let runner = TriageRunner(ruleSet: ruleSet, analyzer: analyzer, mineEverything: true)
    let (items, problems) = runner.expand(paths)
    let unreadable = problems.filter(\.unreadable)
    for p in unreadable { warn("\(what) \(p.name): \(p.problem ?? "")") }
    if !unreadable.isEmpty || items.isEmpty {
        if items.isEmpty && unreadable.isEmpty { warn("\(what): no files to read in \(paths.joined(separator: " "))") }
        throw ExitCode(ExitStatus.unreadable)
    }
    let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    let (results, inputs) = runner.run(items, jobs: max(1, cores))
    // Damaged or cut-off archives show only once they are read.
    let late = inputs.filter(\.unreadable)
    for p in late { warn("\(what) \(p.name): \(p.problem ?? "")") }
    if !late.isEmpty { throw ExitCode(ExitStatus.unreadable) }
    return (results, inputs + problems)
}
