extension DiagnosisResults {
    /// Combines the results of diagnosers that each read their own inputs (parallel triage), in
    /// the order given, renumbering inputs so evidence and versions still point at the right file.
    public static func combine(_ parts: [DiagnosisResults], evidenceLimit: Int = 5) -> DiagnosisResults {
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
                shifted.findings[k] = g
            }
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
