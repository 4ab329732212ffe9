/// The payload formats logdiag recognises. Names are what `logdiag parse` prints.
public enum PayloadFormat: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case klog, kubeJSON, rancher, logrus, logrusTTY, agentScript, etcdJSON, capnslog, coredns, kubeEvent, plain

    public var description: String {
        switch self {
        case .klog: "klog"
        case .kubeJSON: "kube-json"
        case .rancher: "rancher"
        case .logrus: "logrus"
        case .logrusTTY: "logrus-tty"
        case .agentScript: "agent-script"
        case .etcdJSON: "etcd-json"
        case .capnslog: "capnslog"
        case .coredns: "coredns"
        case .kubeEvent: "kube-event"
        case .plain: "plain"
        }
    }

    /// Formats whose timestamps carry the year (klog and CoreDNS lines do not).
    var statesYear: Bool {
        switch self {
        case .rancher, .logrus, .etcdJSON, .kubeJSON, .capnslog: true
        default: false
        }
    }

    /// Formats whose lines may quote a component's own line after `log:` (Rancher, RKE).
    var mayQuoteALogLine: Bool {
        switch self {
        case .rancher, .logrus, .logrusTTY, .agentScript: true
        default: false
        }
    }

    public init?(name: String) {
        guard let f = PayloadFormat.allCases.first(where: { $0.description == name }) else { return nil }
        self = f
    }
}

/// The wrappers a line can arrive in, outermost first when stacked.
public enum EnvelopeKind: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case dockerTS, cri, dockerJSON, kubectlPrefix, journaldShort, journaldISO, journaldJSON

    public var description: String {
        switch self {
        case .dockerTS: "docker-ts"
        case .cri: "cri"
        case .dockerJSON: "docker-json"
        case .kubectlPrefix: "kubectl-prefix"
        case .journaldShort: "journald-short"
        case .journaldISO: "journald-iso"
        case .journaldJSON: "journald-json"
        }
    }
}

/// One log event. Byte views point into the reader's buffer or the parser's scratch space and are
/// valid only while the event is being delivered; sinks copy what they keep.
public struct LogEvent {
    public var input: Int = 0
    /// First physical line of the event in its input (1-based).
    public var lineNumber: Int = 0
    /// Physical lines joined into this event (stack dumps, partial records).
    public var lineCount: Int = 1
    public var severity: Severity = .info
    public var time: Timestamp?
    public var pid: Int?
    public var sourceFile: UnsafeBufferPointer<UInt8>?
    public var sourceLine: Int?
    public var component: Component?
    public var format: PayloadFormat = .plain
    /// The outermost envelope, when there was one.
    public var envelope: EnvelopeKind?
    /// The payload line as the component wrote it (envelope removed).
    public var payload: UnsafeBufferPointer<UInt8>
    /// The text rules match: the payload less its header.
    public var message: UnsafeBufferPointer<UInt8>
    /// The host a relaying component named for this event (Rancher's `on host [x]`).
    public var host: UnsafeBufferPointer<UInt8>?
    /// A component's own log line quoted inside this one (Rancher/RKE `log: ...`), valid like the
    /// byte views. A pointer, not an array, so the event holds nothing reference-counted: copying
    /// or passing it costs no retain/release on the per-line path.
    public var innerEvent: UnsafePointer<LogEvent>?
    /// True for an event that was quoted inside another.
    public var isInner = false
    /// How many occurrences this one line stands for: a Kubernetes event's count
    /// (`90s (x7 over 3m10s)` is 7), otherwise 1.
    public var repeats: Int32 = 1

    public init(payload: UnsafeBufferPointer<UInt8>) {
        self.payload = payload
        self.message = payload
    }

    /// The quoted inner event as a list (empty or one), for code off the per-line path.
    public var inner: [LogEvent] { innerEvent.map { [$0.pointee] } ?? [] }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// Decodes for display; invalid UTF-8 is repaired, never an error.
    public var string: String { String(decoding: self, as: UTF8.self) }
}
