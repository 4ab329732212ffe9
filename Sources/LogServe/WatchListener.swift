import Glibc
import LogModel
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What the listener serves, shared between the watch thread (which publishes) and NIO's event
/// loop (which answers): the newest snapshot under a lock, the metrics registry (thread-safe).
public final class WatchEndpoints: Sendable {
    public let metrics: WatchMetrics
    private let latest = Mutex<(snapshot: WatchSnapshot?, json: [UInt8]?)>((nil, nil))
    private let heartbeat: @Sendable () -> UInt64
    /// `/healthz` fails when the watch loop has not turned for this long (it turns at least once a second).
    public let staleAfterSeconds: Double

    public init(metrics: WatchMetrics, staleAfterSeconds: Double = 30, heartbeat: @escaping @Sendable () -> UInt64) {
        self.metrics = metrics
        self.heartbeat = heartbeat
        self.staleAfterSeconds = staleAfterSeconds
    }

    /// On the watch thread: the metrics move now, the JSON report is made when asked for.
    public func publish(_ snapshot: WatchSnapshot) {
        metrics.update(snapshot)
        latest.withLock { $0 = (snapshot, nil) }
    }

    struct Response {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]
    }

    func respond(method: HTTPMethod, uri: String) -> Response {
        guard method == .GET || method == .HEAD else {
            return Response(status: .methodNotAllowed, contentType: "text/plain; charset=utf-8", body: Array("GET only\n".utf8))
        }
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        switch path {
        case "/metrics":
            return Response(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.exposition())
        case "/findings":
            let body: [UInt8] = latest.withLock { state in
                if let json = state.json { return json }
                guard let report = state.snapshot?.report else { return Array("{}\n".utf8) }
                let json = Array(ReportDocument(report: report, inputs: []).json().utf8)
                state.json = json
                return json
            }
            return Response(status: .ok, contentType: "application/json", body: body)
        case "/healthz":
            let age = Double(DispatchTimeNow.uptime() &- heartbeat()) / 1e9
            if heartbeat() == 0 || age > staleAfterSeconds {
                return Response(status: .serviceUnavailable, contentType: "text/plain; charset=utf-8",
                                body: Array("watch loop stalled\n".utf8))
            }
            return Response(status: .ok, contentType: "text/plain; charset=utf-8", body: Array("ok\n".utf8))
        default:
            return Response(status: .notFound, contentType: "text/plain; charset=utf-8",
                            body: Array("not found: /metrics, /findings and /healthz are served\n".utf8))
        }
    }
}

enum DispatchTimeNow {
    static func uptime() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// One request at a time per connection: the head is enough, a body is read and ignored.
final class EndpointHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let endpoints: WatchEndpoints
    private var head: HTTPRequestHead?

    init(_ endpoints: WatchEndpoints) { self.endpoints = endpoints }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            let r = endpoints.respond(method: h.method, uri: h.uri)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: r.contentType)
            headers.add(name: "Content-Length", value: String(r.body.count))
            headers.add(name: "Cache-Control", value: "no-store")
            let keepAlive = h.isKeepAlive
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: r.status, headers: headers))),
                          promise: nil)
            if h.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: r.body)))), promise: nil)
            }
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}

/// `--listen ADDR:PORT`: `/metrics`, `/findings` and `/healthz` over HTTP/1.1 on SwiftNIO.
public final class WatchListener: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The address actually bound (port 0 picks a free one).
    public var boundAddress: String {
        guard let a = channel.localAddress, let ip = a.ipAddress, let port = a.port else { return "?" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    public init(host: String, port: Int, endpoints: WatchEndpoints) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(EndpointHandler(endpoints))
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    public func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}
