import Foundation
import Testing
@testable import LogModel

/// One log line per kind of secret `--redact` must mask, each at error level so every report shows it.
private let secretLines: [(secret: String, line: String)] = [
    ("10.20.30.40", "E1202 10:00:01.000000       1 a.go:1] dial tcp 10.20.30.40:8472: connect: connection refused"),
    ("2001:db8::8a2e:370:7334", "E1202 10:00:02.000000       1 a.go:2] cannot reach 2001:db8::8a2e:370:7334 from here"),
    ("fe80::1", "E1202 10:00:02.500000       1 a.go:2] neighbour fe80::1 unreachable"),
    ("worker-1.prod.example.com", "E1202 10:00:02.700000       1 a.go:2] lookup worker-1.prod.example.com failed"),
    ("ops.team@example.org", "E1202 10:00:03.000000       1 a.go:3] mail to ops.team@example.org bounced"),
    ("s3cr3tPass", "E1202 10:00:04.000000       1 a.go:4] pull from https://admin:s3cr3tPass@registry.example.net/v2/ failed"),
    ("abcDEF123456ghiJKL", "E1202 10:00:05.000000       1 a.go:5] request rejected: Authorization: Bearer abcDEF123456ghiJKL"),
    ("YWRtaW46cGFzc3dvcmQ=", "E1202 10:00:06.000000       1 a.go:6] proxy said no: Authorization: Basic YWRtaW46cGFzc3dvcmQ="),
    ("eyJhbGciOiJIUzI1NiJ9", "E1202 10:00:07.000000       1 a.go:7] bad session eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    ("AKIAIOSFODNN7EXAMPLE", "E1202 10:00:08.000000       1 a.go:8] s3 upload failed for key AKIAIOSFODNN7EXAMPLE"),
    ("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "E1202 10:00:08.500000       1 a.go:8] s3 signature mismatch aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("MIIEowIBAAKCAQEAxk3F9pQz", "E1202 10:00:09.000000       1 a.go:9] cannot parse key -----BEGIN RSA PRIVATE KEY-----MIIEowIBAAKCAQEAxk3F9pQz-----END RSA PRIVATE KEY-----"),
    ("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0",
     "E1202 10:00:10.000000       1 a.go:10] bad public key MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0"),
    ("hunter2!x", #"E1202 10:00:11.000000       1 a.go:11] config rejected {"user":"admin","password":"hunter2!x"}"#),
    ("Tr0ub4dor&3", "E1202 10:00:12.000000       1 a.go:12] values.yaml: password: Tr0ub4dor&3 is not allowed"),
    ("lpk4b444vb7xcwtn4qpdpqv964n4rtlvbfm2xcjkkq75gjg9jzn4kq", "E1202 10:00:13.000000       1 a.go:13] agent register failed --token lpk4b444vb7xcwtn4qpdpqv964n4rtlvbfm2xcjkkq75gjg9jzn4kq"),
    ("449144c1445882641ff0d66593c5a1fc2eb0fa90994e95eb46efe0b341317afa", "E1202 10:00:14.000000       1 a.go:14] checksum mismatch --ca-checksum 449144c1445882641ff0d66593c5a1fc2eb0fa90994e95eb46efe0b341317afa"),
    // A host the log names as a host, with no dots: masked because the rule captures it as one.
    ("node-alpha", #"2021/07/23 07:40:55 [ERROR] Failed to upgrade worker components on NotReady hosts, error: [Failed to verify healthcheck: Failed to check http://localhost:10256/healthz for service [kube-proxy] on host [node-alpha]: Get "http://localhost:10256/healthz": dial tcp 127.0.0.1:10256: connect: connection refused, log: F0723 07:40:32.920751 19619 server.go:495] open /proc/sys/net/netfilter/nf_conntrack_max: permission denied]"#),
]

@Suite(.serialized) struct RedactionTests {
    /// Every kind of secret, through every output format of read and triage, parse and stderr:
    /// none survives, the diagnosis and logdiag's own links do, and one value keeps one mask.
    @Test func noSecretSurvivesAnyOutput() throws {
        let dir = try tempDir("redact-all")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("node-alpha.log")
        try (secretLines.map(\.line).joined(separator: "\n") + "\n").write(to: file, atomically: false, encoding: .utf8)
        // An input named after a host address, and damaged, so that stderr names it.
        let broken = dir.appendingPathComponent("kubelet-10.20.30.40.log.gz")
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gz.arguments = ["python3", "-c", "import gzip,os; d=gzip.compress(b''.join(b'E1202 10:00:00.000000 1 x.go:1] line %d %s\\n' % (i, os.urandom(6).hex().encode()) for i in range(50000))); open('\(broken.path)','wb').write(d[:len(d)//2])"]
        try gz.run()
        gz.waitUntilExit()

        var runs: [(String, (status: Int32, out: String, err: String))] = []
        for format in ["text", "json", "ndjson", "markdown", "sarif", "junit", "html"] {
            runs.append(("read \(format)", try runLogdiag(["-o", format, "--redact", "--year", "2021", file.path])))
            runs.append(("triage \(format)", try runLogdiag(["triage", "--no-progress", "-o", format, "--redact", "--year", "2021", dir.path])))
        }
        runs.append(("parse", try runLogdiag(["parse", "--redact", "--year", "2021", file.path, broken.path])))
        for (what, r) in runs {
            for (secret, _) in secretLines {
                // parse streams: the file name is written before any line names node-alpha a host.
                if what == "parse" && secret == "node-alpha" { continue }
                #expect(!r.out.contains(secret), "\(what) output shows \(secret)")
                #expect(!r.err.contains(secret), "\(what) stderr shows \(secret)")
            }
            #expect(!r.err.contains("10.20.30.40"), "\(what): stderr names the damaged input unmasked")
            if what != "parse" {
                #expect(r.out.contains("nf_conntrack_max"), "\(what): redaction must keep the diagnosis")
            }
        }
        let text = try #require(runs.first { $0.0 == "read text" }?.1.out)
        #expect(text.contains("https://github.com/kubernetes/kubernetes/pull/103174"), "logdiag's own links are not masked")
        #expect(text.contains("on host [[host-1]]"))
        // JSON: the lines are all there, masked, and the captured host has the same mask as in the evidence.
        let json = try #require(runs.first { $0.0 == "read json" }?.1.out)
        for label in ["[ip-", "[host-", "[email-", "[credentials-", "[token-", "[aws-key-", "[secret-", "[key-"] {
            #expect(json.contains(label), "no \(label) mask in the JSON report")
        }
        #expect(json.contains(#""host" : "[host-1]""#))
        let parse = try #require(runs.first { $0.0 == "parse" }?.1)
        #expect(parse.out.split(separator: "\n").count >= secretLines.count)
        #expect(parse.err.contains("[ip-"), "the damaged input is named, masked, on stderr")
        // The same input, redacted twice: the same bytes (masks are numbered in a fixed order).
        let again = try runLogdiag(["-o", "json", "--redact", "--year", "2021", file.path])
        #expect(again.out == json)
    }

    @Test func masksAreStableAndLongestKnownHostWins() {
        let r = Redactor()
        r.learn(host: "node-1")
        r.learn(host: "node-10")
        #expect(r.redact("node-10 and node-1 and node-1x") == "[host-2] and [host-1] and node-1x")
        #expect(r.redact("10.0.0.1 then 10.0.0.2 then 10.0.0.1") == "[ip-1] then [ip-2] then [ip-1]")
        #expect(r.redact("token: <nil>") == "token: <nil>")
        #expect(r.redact("/var/lib/kubelet/pods/volumes/kubernetes/abcdefghijklmnopq") == "/var/lib/kubelet/pods/volumes/kubernetes/abcdefghijklmnopq")
    }
}
