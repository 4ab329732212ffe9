extension DiagnosisResults {
    /// Combines the results of diagnosers that each read their own inputs (parallel triage), in
    /// the order given, renumbering inputs so evidence and versions still point at the right file.
    /// `byNode`: the same rule in different nodes' inputs stays two findings (triage); off for the
    /// consecutive windows of one machine (`watch`).
    public static func combine(_ parts: [DiagnosisResults], evidenceLimit: Int = 5, byNode: Bool = true) -> DiagnosisResults {
        var all = DiagnosisResults()
        all.unrecognised = TemplateMiner(capacity: parts.map(\.unrecognised.capacity).max() ?? 1000)
        all.unrecognisedWarnings = TemplateMiner(capacity: parts.map(\.unrecognisedWarnings.capacity).max() ?? 500)
        for part in parts {
            let base = all.inputs.count
            var shifted = part
            shifted.findings = [:]
            for (k, f) in part.findings {
                var g = f
                g.inputs = Set(f.inputs.map { $0 + base })
                // One finding per node: the same rule in two machines' logs is two incidents,
                // unless the finding names its host (then the host keeps them apart or together).
                var key = k
                let namesHost = f.captures.contains { Report.hostKeys.contains($0.key) && !$0.value.isEmpty }
                if byNode, !namesHost, let first = f.inputs.min(), first < part.inputs.count {
                    key.scope = Report.nodeScope(part.inputs[first])
                }
                shifted.findings[key] = g
            }
            shifted.guessedYearInputs = Set(part.guessedYearInputs.map { $0 + base })
            shifted.inputVersions = Dictionary(uniqueKeysWithValues: part.inputVersions.map { ($0.key + base, $0.value) })
            shifted.unrecognised = TemplateMiner()
            shifted.unrecognisedWarnings = TemplateMiner()
            all.inputs += part.inputs
            all.linesPerInput += part.linesPerInput
            all.merge(shifted, evidenceLimit: evidenceLimit)
            all.unrecognised.merge(part.unrecognised, inputOffset: base)
            all.unrecognisedWarnings.merge(part.unrecognisedWarnings, inputOffset: base)
        }
        return all
    }
}
