import Foundation
import XCTest

/// `exportctl stats --since`, its per-kind and per-user breakdowns,
/// `--prometheus`, and the daemon's node_exporter text file.
final class MetricsTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try h.useFakeRenderer()
    }

    override func tearDown() { h?.stopAll() }

    /// alice: two completed and one failed; bob: one completed; one job without a user.
    private func renderSome() throws {
        for (out, user) in [("a1.mp3", "alice"), ("a2.mp3", "alice"), ("fail-a.mp3", "alice"), ("b1.mp3", "bob"), ("n1.mp3", nil)] {
            _ = try h.submitMP3(out, user: user)
        }
        let d = try h.run(["daemon", "--once"])
        XCTAssertEqual(d.status, 0, d.stderr)
    }

    private func logLines() throws -> [[String: Any]] {
        try String(contentsOfFile: h.spool + "/analytics.jsonl", encoding: .utf8).split(separator: "\n").map { try h.json(String($0)) }
    }

    func testSinceAndBreakdownsByKindAndUser() throws {
        try renderSome()
        let alice = try XCTUnwrap(try logLines().first { ($0["id"] as? String).map { id in
            (try? h.json(h.run(["status", "--json", id]).stdout))?["output"].flatMap { ($0 as? [String: Any])?["path"] as? String } == h.path("out/a1.mp3")
        } ?? false }?["user"] as? String)
        // Ten days ago: an mp4 by alice, a failed carousel by someone else.
        let old = CLIHarness.iso(Date(timeIntervalSinceNow: -10 * 86400))
        let extra = #"{"time":"\#(old)","id":"0000000000001-aaaaaa","attempt":1,"event":"finished","kind":"mp4","outcome":"completed","user":"\#(alice)","mediaSeconds":30.0,"renderSeconds":12.0,"bytes":1000,"error":null}"# + "\n"
            + #"{"time":"\#(old)","id":"0000000000002-aaaaaa","attempt":1,"event":"finished","kind":"carousel","outcome":"failed","user":"ffff","error":"invalid-media"}"# + "\n"
        let fh = try FileHandle(forWritingTo: URL(fileURLWithPath: h.spool + "/analytics.jsonl"))
        try fh.seekToEnd(); fh.write(Data(extra.utf8)); try fh.close()

        let all = try h.json(try h.run(["stats", "--json"]).stdout)
        XCTAssertEqual(all["total"] as? Int, 7)
        XCTAssertNil(all["since"])
        let perKind = try XCTUnwrap(all["perKind"] as? [String: [String: Any]])
        XCTAssertEqual(Set(perKind.keys), ["mp3", "mp4", "carousel"])
        XCTAssertEqual(perKind["mp3"]?["total"] as? Int, 5)
        XCTAssertEqual(perKind["mp3"]?["uniqueUsers"] as? Int, 2)
        XCTAssertEqual(perKind["mp4"]?["outputBytes"] as? Int, 1000)
        XCTAssertEqual((perKind["carousel"]?["byOutcome"] as? [String: Int])?["failed"], 1)
        let byUser = try XCTUnwrap(all["byUser"] as? [String: [String: Any]])
        XCTAssertEqual(Set(byUser.keys), [alice, try XCTUnwrap(byUser.keys.first { $0 != alice && $0 != "ffff" && $0 != "none" }), "ffff", "none"])
        XCTAssertEqual(byUser[alice]?["total"] as? Int, 4)
        XCTAssertEqual(byUser[alice]?["byKind"] as? [String: [String: Int]], ["mp3": ["completed": 2, "failed": 1], "mp4": ["completed": 1]])
        XCTAssertEqual(byUser["none"]?["total"] as? Int, 1)

        for since in ["7d", "168h", CLIHarness.iso(Date(timeIntervalSinceNow: -86400)), String(CLIHarness.iso(Date(timeIntervalSinceNow: -86400)).prefix(10))] {
            let recent = try h.json(try h.run(["stats", "--json", "--since", since]).stdout)
            XCTAssertEqual(recent["total"] as? Int, 5, since)
            XCTAssertNotNil(recent["since"] as? String)
            XCTAssertEqual(Set((recent["perKind"] as? [String: Any])?.keys.map { $0 } ?? []), ["mp3"], since)
        }
        let aliceOnly = try h.json(try h.run(["stats", "--json", "--user", "alice", "--since", "30d"]).stdout)
        XCTAssertEqual(aliceOnly["total"] as? Int, 4, "--user matches by the salted hash")
        let text = try h.run(["stats", "--since", "7d"])
        XCTAssertTrue(text.stdout.contains("by kind:\n  mp3: 5 jobs (4 completed, 1 failed)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("  \(alice.prefix(12)): 3 jobs (2 completed, 1 failed)"), text.stdout)
        XCTAssertTrue(text.stdout.contains("  (no user): 1 job (1 completed)"), text.stdout)
        let bad = try h.run(["stats", "--since", "last tuesday"])
        XCTAssertEqual(bad.status, 64)
        XCTAssertTrue(bad.stderr.contains("--since 'last tuesday' is neither a time"), bad.stderr)
    }

    func testPrometheusTextParsesStrictlyWithCumulativeBuckets() throws {
        try renderSome()
        _ = try h.submitMP3("waiting.mp3")
        try h.writeJob("later.json", #"{"kind":"mp3","input":"in.wav","output":"out/later.mp3","notBefore":"2999-01-01T00:00:00Z"}"#)
        XCTAssertEqual(try h.run(["submit", "later.json"]).status, 0)
        let held = try h.submitMP3("held.mp3")
        XCTAssertEqual(try h.run(["hold", held]).status, 0)
        let r = try h.run(["stats", "--prometheus"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let m = try PrometheusText(r.stdout)
        XCTAssertEqual(m.types["exportctl_renders_total"], "counter")
        XCTAssertEqual(m.types["exportctl_render_duration_seconds"], "histogram")
        XCTAssertEqual(m.value("exportctl_renders_total", ["kind": "mp3", "outcome": "completed"]), 4)
        XCTAssertEqual(m.value("exportctl_renders_total", ["kind": "mp3", "outcome": "failed"]), 1)
        XCTAssertEqual(m.value("exportctl_renders_total", ["kind": "mp4", "outcome": "completed"]), 0, "every kind is there from the start")
        XCTAssertEqual(m.value("exportctl_render_failures_total", ["kind": "mp3", "code": "invalid-media"]), 1)
        XCTAssertEqual(m.value("exportctl_render_duration_seconds_count", ["kind": "mp3"]), 4)
        XCTAssertEqual(m.value("exportctl_render_duration_seconds_bucket", ["kind": "mp3", "le": "+Inf"]), 4)
        XCTAssertEqual(m.value("exportctl_jobs", ["state": "queued"]), 1)
        XCTAssertEqual(m.value("exportctl_jobs", ["state": "deferred"]), 1, "notBefore in the future")
        XCTAssertEqual(m.value("exportctl_jobs", ["state": "held"]), 1)
        XCTAssertEqual(m.value("exportctl_jobs", ["state": "completed"]), 4)
        XCTAssertGreaterThan(try XCTUnwrap(m.value("exportctl_oldest_queued_job_age_seconds", [:])), 0)
        XCTAssertEqual(m.value("exportctl_daemon_running", [:]), 0)
        XCTAssertEqual(m.value("exportctl_media_seconds_total", ["kind": "mp3"]), 4)
        let since = try PrometheusText(try h.run(["stats", "--prometheus", "--since", "2000-01-01T00:00Z"]).stdout)
        XCTAssertEqual(since.value("exportctl_renders_total", ["kind": "mp3", "outcome": "completed"]), 4)
        let future = try PrometheusText(try h.run(["stats", "--prometheus", "--since", "2999-01-01"]).stdout)
        XCTAssertEqual(future.value("exportctl_renders_total", ["kind": "mp3", "outcome": "completed"]), 0)
        XCTAssertEqual(try h.run(["stats", "--prometheus", "--json"]).status, 64)
    }

    /// The reader the tests above rely on refuses what Prometheus would.
    func testTheStrictReaderRefusesMalformedText() {
        let good = "# HELP a_seconds A.\n# TYPE a_seconds histogram\na_seconds_bucket{le=\"1\"} 1\na_seconds_bucket{le=\"+Inf\"} 2\na_seconds_sum 3\na_seconds_count 2\n"
        XCTAssertNoThrow(try PrometheusText(good))
        let bad = [
            good.replacingOccurrences(of: "{le=\"1\"} 1", with: "{le=\"1\"} 3"),  // not cumulative
            good.replacingOccurrences(of: "a_seconds_count 2", with: "a_seconds_count 5"),  // +Inf ≠ _count
            good + "# HELP a_seconds A.\n",  // declared twice
            good + "b_total 1\n",  // a sample of no declared family
            good.replacingOccurrences(of: "a_seconds_sum 3", with: "a_seconds_sum three"),
            good.replacingOccurrences(of: "{le=\"1\"}", with: "{le=1}"),
            String(good.dropLast()),
        ]
        for text in bad { XCTAssertThrowsError(try PrometheusText(text), text) }
    }

    func testDaemonKeepsTheTextfileCollectorFileUpToDate() throws {
        try h.useFakeRenderer(renderSeconds: 1)
        try FileManager.default.createDirectory(atPath: h.path("textfile"), withIntermediateDirectories: true)
        let file = h.path("textfile/exportctl.prom")
        try h.writeSettings(#"{"metricsFile": "\#(file)", "metricsIntervalSeconds": 1, "rescanSeconds": 1}"#)
        _ = try h.startDaemon()
        func read(until condition: (PrometheusText) -> Bool) throws -> PrometheusText {
            let deadline = Date().addingTimeInterval(8)
            var last = ""
            while Date() < deadline {
                if let t = try? String(contentsOfFile: file, encoding: .utf8) {
                    last = t
                    let m = try PrometheusText(t)
                    if condition(m) { return m }
                }
                usleep(50_000)
            }
            XCTFail("the metrics file never got there; last:\n\(last)")
            return try PrometheusText(last)
        }
        var m = try read { $0.value("exportctl_daemon_running", [:]) == 1 }
        XCTAssertEqual(m.value("exportctl_jobs", ["state": "queued"]), 0)
        let first = try h.submitMP3("one.mp3"), second = try h.submitMP3("two.mp3")
        m = try read { $0.value("exportctl_jobs", ["state": "processing"]) == 1 && $0.value("exportctl_jobs", ["state": "queued"]) == 1 }
        XCTAssertGreaterThan(try XCTUnwrap(m.value("exportctl_oldest_queued_job_age_seconds", [:])), 0, "the second job waits")
        XCTAssertEqual(try h.run(["wait", "--timeout", "10", first, second]).status, 0)
        m = try read { $0.value("exportctl_renders_total", ["kind": "mp3", "outcome": "completed"]) == 2 }
        XCTAssertEqual(m.value("exportctl_render_duration_seconds_count", ["kind": "mp3"]), 2)
        XCTAssertEqual(m.value("exportctl_render_duration_seconds_bucket", ["kind": "mp3", "le": "0.5"]), 0, "renders took a second")
        XCTAssertEqual(m.value("exportctl_render_duration_seconds_bucket", ["kind": "mp3", "le": "2.5"]), 2)
        XCTAssertEqual(m.value("exportctl_oldest_queued_job_age_seconds", [:]), 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.path("textfile")), ["exportctl.prom"], "no temp left beside it")
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
        XCTAssertEqual(mode, 0o644, "node_exporter, another user, reads it")
    }
}

/// A strict reader of the Prometheus text exposition format (0.0.4): every
/// line a HELP, a TYPE or a sample; each family declared once, HELP and TYPE
/// before its samples; sample names belong to the family just declared;
/// label syntax and values checked; histogram buckets cumulative, ending in
/// `+Inf` equal to `_count`, with `_sum`.
struct PrometheusText {
    struct Sample { var name: String; var labels: [String: String]; var value: Double }
    var types: [String: String] = [:]
    var samples: [Sample] = []

    init(_ text: String) throws {
        guard text.hasSuffix("\n") else { throw Problem("the text does not end with a newline") }
        var helped: Set<String> = []
        var current: String?
        let name = #"[a-zA-Z_:][a-zA-Z0-9_:]*"#
        for (n, line) in text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let l = String(line)
            if l.hasPrefix("# HELP ") {
                let parts = l.dropFirst(7).split(separator: " ", maxSplits: 1)
                guard parts.count == 2, String(parts[0]).wholeMatch(name) else { throw Problem("line \(n + 1): bad HELP: \(l)") }
                guard helped.insert(String(parts[0])).inserted else { throw Problem("line \(n + 1): HELP for \(parts[0]) twice") }
                guard types[String(parts[0])] == nil else { throw Problem("line \(n + 1): HELP after TYPE for \(parts[0])") }
                current = String(parts[0])
            } else if l.hasPrefix("# TYPE ") {
                let parts = l.dropFirst(7).split(separator: " ")
                guard parts.count == 2, ["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts[1])) else { throw Problem("line \(n + 1): bad TYPE: \(l)") }
                let f = String(parts[0])
                guard types[f] == nil else { throw Problem("line \(n + 1): TYPE for \(f) twice") }
                guard current == f else { throw Problem("line \(n + 1): TYPE for \(f) without its HELP just before") }
                guard !samples.contains(where: { PrometheusText.family(of: $0.name, types: [f: String(parts[1])]) == f }) else { throw Problem("line \(n + 1): TYPE after samples of \(f)") }
                types[f] = String(parts[1])
            } else if l.hasPrefix("#") || l.isEmpty {
                throw Problem("line \(n + 1): unexpected: \(l)")
            } else {
                let s = try PrometheusText.sample(l, line: n + 1)
                guard let f = current, PrometheusText.family(of: s.name, types: types) == f else {
                    throw Problem("line \(n + 1): sample \(s.name) outside its family's block (current \(current ?? "none"))")
                }
                samples.append(s)
            }
        }
        for (f, t) in types where t == "histogram" { try checkHistogram(f) }
        for f in helped where types[f] == nil { throw Problem("\(f) has HELP but no TYPE") }
    }

    static func family(of sample: String, types: [String: String]) -> String? {
        if types[sample] != nil { return sample }
        for suffix in ["_bucket", "_sum", "_count"] where sample.hasSuffix(suffix) {
            let base = String(sample.dropLast(suffix.count))
            if types[base] == "histogram" { return base }
        }
        return nil
    }

    static func sample(_ l: String, line: Int) throws -> Sample {
        var rest = Substring(l)
        let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
        guard !name.isEmpty, !name.first!.isNumber else { throw Problem("line \(line): bad metric name: \(l)") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let key = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                guard !key.isEmpty, rest.dropFirst(key.count).hasPrefix("=\"") else { throw Problem("line \(line): bad label: \(l)") }
                rest = rest.dropFirst(key.count + 2)
                var value = ""
                while let c = rest.first, c != "\"" {
                    rest = rest.dropFirst()
                    if c == "\\" {
                        guard let e = rest.first, "\\\"n".contains(e) else { throw Problem("line \(line): bad escape: \(l)") }
                        value.append(e == "n" ? "\n" : e); rest = rest.dropFirst()
                    } else { value.append(c) }
                }
                guard rest.first == "\"" else { throw Problem("line \(line): unterminated label value: \(l)") }
                rest = rest.dropFirst()
                guard labels.updateValue(value, forKey: key) == nil else { throw Problem("line \(line): label \(key) twice") }
                if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" { throw Problem("line \(line): bad label list: \(l)") }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw Problem("line \(line): no space before the value: \(l)") }
        let parts = rest.dropFirst().split(separator: " ")
        guard (1...2).contains(parts.count), let v = Double(parts[0]) ?? ["+Inf": .infinity, "-Inf": -.infinity, "NaN": .nan][String(parts[0])] else {
            throw Problem("line \(line): bad value: \(l)")
        }
        if parts.count == 2, Int64(parts[1]) == nil { throw Problem("line \(line): bad timestamp: \(l)") }
        return Sample(name: name, labels: labels, value: v)
    }

    func checkHistogram(_ f: String) throws {
        var series: [[String: String]: [(le: Double, v: Double)]] = [:]
        for s in samples where s.name == f + "_bucket" {
            guard let le = s.labels["le"], let bound = le == "+Inf" ? Double.infinity : Double(le) else { throw Problem("\(f): a bucket without le") }
            var key = s.labels; key["le"] = nil
            series[key, default: []].append((bound, s.value))
        }
        guard !series.isEmpty else { throw Problem("\(f): no buckets") }
        for (key, buckets) in series {
            guard buckets.map(\.le) == buckets.map(\.le).sorted(), buckets.last?.le == .infinity else { throw Problem("\(f)\(key): buckets out of order or no +Inf") }
            guard buckets.map(\.v) == buckets.map(\.v).sorted() else { throw Problem("\(f)\(key): buckets not cumulative") }
            guard let count = value(f + "_count", key), value(f + "_sum", key) != nil else { throw Problem("\(f)\(key): no _count or _sum") }
            guard buckets.last?.v == count else { throw Problem("\(f)\(key): +Inf bucket \(buckets.last!.v) ≠ _count \(count)") }
        }
    }

    func value(_ name: String, _ labels: [String: String]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    struct Problem: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}

private extension String {
    func wholeMatch(_ pattern: String) -> Bool {
        range(of: "^" + pattern + "$", options: .regularExpression) != nil
    }
}
