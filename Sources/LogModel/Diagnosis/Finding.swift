/// One line that shows a finding: where it is and what it says.
public struct Evidence: Sendable, Hashable {
    public let input: String
    public let line: Int
    public let text: String
    public let time: Timestamp?
    /// True when the line was quoted inside another component's log (Rancher's `log:`).
    public let quoted: Bool
}

/// All matches of one rule with one set of key values (per host, per pod).
public struct Finding: Sendable {
    public let ruleIndex: Int
    public internal(set) var keyValues: [String]
    /// Captures of the first match.
    public var captures: [String: String]
    public var count = 0
    public var first: Timestamp?
    public var last: Timestamp?
    public var evidence: [Evidence] = []
    public var component: Component?
    /// Inputs the matches came from (indexes into the diagnoser's input list).
    public var inputs: Set<Int> = []
    /// True once the rule's threshold has been reached (always, for rules without one).
    public var thresholdMet = false
    /// Match times kept while the threshold is not yet met.
    var window: [Timestamp] = []

    mutating func merge(_ o: Finding, evidenceLimit: Int) {
        count += o.count
        if let f = o.first, first == nil || f < first! { first = f }
        if let l = o.last, last == nil || l > last! { last = l }
        for e in o.evidence where evidence.count < evidenceLimit && !evidence.contains(e) { evidence.append(e) }
        evidence.sort { ($0.input, $0.line) < ($1.input, $1.line) }
        inputs.formUnion(o.inputs)
        thresholdMet = thresholdMet || o.thresholdMet
        if component == nil { component = o.component }
    }
}

/// Lines a noise rule recognised as harmless.
public struct NoiseCount: Sendable {
    public let ruleIndex: Int
    public var count: Int
    public var example: Evidence?
}
