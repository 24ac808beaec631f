import Foundation
import XCTest

/// Webhooks: the final status posted to `notify.url`, signed with the spool's
/// secret, from a durable outbox, retried, and dead-lettered at the end.
final class WebhookTests: XCTestCase {
    var h: CLIHarness!
    var receivers: [WebhookReceiver] = []
    let secret = "test-secret-0123456789abcdef"

    override func setUpWithError() throws {
        h = try CLIHarness()
        try h.installStepRenderer()
    }

    override func tearDown() {
        for r in receivers { r.stop() }
        h?.stopAll()
    }

    private func settings(attempts: Int = 5) throws {
        try h.writeSettings(#"{"notifications": {"webhookSecret": "\#(secret)", "webhookAttempts": \#(attempts), "webhookBackoffSeconds": 0.1, "webhookTimeoutSeconds": 2}}"#)
    }

    private func receiver(failFirst: Int = 0, port: Int = 0, tls: (cert: String, key: String)? = nil) throws -> WebhookReceiver {
        let r = try WebhookReceiver(in: h, secret: secret, failFirst: failFirst, port: port, tls: tls)
        receivers.append(r)
        return r
    }

    func testSignedWebhookIsRetriedUntilTheServerAcceptsIt() throws {
        try settings()
        let server = try receiver(failFirst: 2)
        let id = try h.submitNotifyJob(output: "w.mp3", extra: #""notify": {"url": "http://127.0.0.1:\#(server.port)/hooks/exportctl?x=1"}"#)
        _ = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "20", id]).status, 0)
        try h.waitUntil("three deliveries") { try server.requests(h).count >= 3 && h.files(in: "spool/outbox").isEmpty }
        let got = try server.requests(h)
        XCTAssertEqual(got.count, 3, "two 503s, then accepted; nothing after")
        XCTAssertEqual(got.map { $0["code"] as? Int }, [503, 503, 200])
        XCTAssertTrue(got.allSatisfy { $0["valid"] as? Bool == true }, "every body is signed with the secret: \(got)")
        XCTAssertEqual(Set(got.compactMap { $0["delivery"] as? String }), ["\(id).completed.1.webhook"], "one delivery id across retries")
        XCTAssertEqual(got[0]["path"] as? String, "/hooks/exportctl?x=1")
        XCTAssertEqual(got[0]["event"] as? String, "job.completed")
        XCTAssertEqual(got[0]["contentType"] as? String, "application/json")
        let ts = Double(got[0]["timestamp"] as? String ?? "") ?? 0
        XCTAssertLessThan(abs(ts - Date().timeIntervalSince1970), 60)
        let body = try XCTUnwrap(got[2]["body"] as? [String: Any])
        XCTAssertEqual(body["id"] as? String, id)
        XCTAssertEqual(body["state"] as? String, "completed")
        XCTAssertEqual((body["output"] as? [String: Any])?["path"] as? String, h.path("out/w.mp3"))
        XCTAssertEqual(h.files(in: "spool/dead-letter"), [])
        let log = try String(contentsOfFile: h.spool + "/notify.log", encoding: .utf8)
        XCTAssertTrue(log.contains("HTTP 503 (attempt 1 of 5)"), log)
        XCTAssertTrue(log.contains(": 200 (attempt 3)"), log)
    }

    func testWebhookMovesToDeadLetterAfterItsLastAttempt() throws {
        try settings(attempts: 3)
        let server = try receiver(failFirst: -1)
        let id = try h.submitNotifyJob(output: "fail.mp3", extra: #""notify": {"url": "http://127.0.0.1:\#(server.port)/"}"#)
        let daemonLog = h.dir.appendingPathComponent("daemon.err")
        _ = try h.startDaemon(stderr: daemonLog)
        XCTAssertEqual(try h.run(["wait", "--timeout", "20", id]).status, 1)
        let dead = "\(id).failed.1.webhook.json"
        h.waitUntil("the dead letter") { h.files(in: "spool/dead-letter") == [dead] && h.files(in: "spool/outbox").isEmpty }
        XCTAssertEqual(try server.requests(h).count, 3)
        XCTAssertEqual(h.files(in: "spool/outbox"), [])
        let entry = try h.json(try String(contentsOfFile: h.spool + "/dead-letter/" + dead, encoding: .utf8))
        XCTAssertEqual(entry["attempts"] as? Int, 3)
        XCTAssertEqual(entry["lastError"] as? String, "HTTP 503")
        XCTAssertEqual((entry["record"] as? [String: Any])?["state"] as? String, "failed")
        XCTAssertEqual(try h.json(try h.run(["status", "--json", id]).stdout)["state"] as? String, "failed", "the job's outcome is untouched")
        h.waitUntil("the daemon's note") {
            ((try? String(contentsOf: daemonLog, encoding: .utf8)) ?? "").contains("failed 3 times (HTTP 503); moved to")
        }

        // gc expires a dead letter after keepFailedFor (30 days), by when it was moved there.
        let path = h.spool + "/dead-letter/" + dead
        XCTAssertEqual(try h.run(["gc", "--dry-run"]).stdout, "\(h.spool): nothing to remove\n", "a new dead letter stays")
        try h.setModified(path, secondsAgo: 31 * 86400)
        let dry = try h.run(["gc", "--dry-run", "--json"])
        let listed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(dry.stdout.utf8)) as? [[String: Any]], dry.stdout)
        XCTAssertEqual(listed.count, 1, dry.stdout)
        XCTAssertEqual(listed.first?["kind"] as? String, "dead-letter")
        XCTAssertEqual(listed.first?["path"] as? String, path)
        XCTAssertEqual(listed.first?["id"] as? String, id)
        XCTAssertEqual(listed.first?["reason"] as? String, "a webhook dead-lettered 31d ago (keepFailedFor 30d)")
        XCTAssertTrue(h.exists(path), "--dry-run removes nothing")
        let real = try h.run(["gc"])
        XCTAssertEqual(real.stdout, "removed \(path): a webhook dead-lettered 31d ago (keepFailedFor 30d)\n\(h.spool): 1 file removed\n")
        XCTAssertFalse(h.exists(path))
    }

    func testOutboxIsDeliveredAfterTheDaemonIsKilledAndRestarted() throws {
        try settings(attempts: 50)
        // Nothing listens yet: every delivery is refused until the daemon is killed.
        let probe = try receiver()
        let port = probe.port
        probe.stop()
        let id = try h.submitNotifyJob(output: "r.mp3", extra: #""notify": {"url": "http://127.0.0.1:\#(port)/"}"#)
        let daemon = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "20", id]).status, 0)
        let entry = h.spool + "/outbox/\(id).completed.1.webhook.json"
        h.waitUntil("a failed attempt recorded") { ((try? h.json(String(contentsOfFile: entry, encoding: .utf8)))?["attempts"] as? Int ?? 0) >= 1 }
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        let server = try receiver(port: port)
        _ = try h.startDaemon()
        try h.waitUntil("delivery after the restart") { try server.requests(h).count == 1 && h.files(in: "spool/outbox").isEmpty }
        let got = try server.requests(h)[0]
        XCTAssertEqual(got["valid"] as? Bool, true)
        XCTAssertEqual((got["body"] as? [String: Any])?["id"] as? String, id)
    }

    func testSubmitChecksTheURLAndTheSecret() throws {
        try h.writeJob("j.json", #"{"kind":"mp3","input":"in.wav","output":"out/x.mp3","notify":{"url":"ftp://example.com/x"}}"#)
        var r = try h.run(["submit", "j.json"])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains(#""notify.url": 'ftp://example.com/x' is not an http:// or https:// URL"#), r.stderr)
        try h.writeJob("j.json", #"{"kind":"mp3","input":"in.wav","output":"out/x.mp3","notify":{"url":"http://u:p@example.com/"}}"#)
        r = try h.run(["submit", "j.json"])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains("has a user name or password"), r.stderr)
        try h.writeJob("j.json", #"{"kind":"mp3","input":"in.wav","output":"out/x.mp3","notify":{"url":"https://example.com:8443/x"}}"#)
        r = try h.run(["submit", "j.json"])
        XCTAssertEqual(r.status, 78, "no secret to sign with")
        XCTAssertTrue(r.stderr.contains(#""notifications.webhookSecret": missing; a job asks for a webhook"#), r.stderr)
        try settings()
        r = try h.run(["submit", "j.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testHTTPSWebhookIsPostedByCurlAndVerified() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else {
            throw XCTSkip("curl or openssl is not installed")
        }
        let cert = h.path("cert.pem"), key = h.path("key.pem")
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                             "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        XCTAssertEqual(openssl.terminationStatus, 0)
        try h.writeSettings(#"{"notifications": {"webhookSecret": "\#(secret)", "webhookBackoffSeconds": 0.1, "webhookCAFile": "\#(cert)"}}"#)
        let server = try receiver(failFirst: 1, tls: (cert, key))
        let id = try h.submitNotifyJob(output: "s.mp3", extra: #""notify": {"url": "https://127.0.0.1:\#(server.port)/tls"}"#)
        _ = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "20", id]).status, 0)
        try h.waitUntil("the https delivery") { try server.requests(h).count == 2 && h.files(in: "spool/outbox").isEmpty }
        let got = try server.requests(h)
        XCTAssertTrue(got.allSatisfy { $0["valid"] as? Bool == true }, "\(got)")
        XCTAssertEqual(got.map { $0["code"] as? Int }, [503, 200])
        XCTAssertEqual(got[1]["delivery"] as? String, "\(id).completed.1.webhook")
    }
}
