import Foundation
import XCTest

/// Hooks: commands run by the daemon when a job ends, with the final status
/// on stdin and its main fields in the environment.
final class HookTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness()
        try h.installStepRenderer()
    }

    override func tearDown() { h?.stopAll() }

    /// A hook script that saves its stdin and environment under `tag`.
    private func recorder(_ tag: String) throws -> String {
        let p = h.path("hook-\(tag).sh")
        try """
        #!/bin/sh
        f="\(h.path(tag)).$EXPORTCTL_ID"
        cat > "$f.json.tmp" && mv "$f.json.tmp" "$f.json"
        env | grep '^EXPORTCTL_' | sort > "$f.env.tmp" && mv "$f.env.tmp" "$f.env"
        echo "hook \(tag) says hello"
        """.write(toFile: p, atomically: true, encoding: .utf8)
        chmod(p, 0o755)
        return p
    }

    private func env(_ file: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for line in try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1)
            out[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        return out
    }

    func testHooksReceiveTheFinalStatusAndEnvironmentOnCompletionAndFailure() throws {
        let spoolHook = try recorder("spool"), jobHook = try recorder("job")
        try h.writeSettings(#"{"notifications": {"hooks": {"completed": ["\#(spoolHook)"], "failed": ["\#(spoolHook)"]}}}"#)
        let ok = try h.submitNotifyJob(output: "ok.mp3", extra: #""hooks": {"completed": ["./hook-job.sh", "an argument"]}"#)
        let bad = try h.submitNotifyJob(output: "fail.mp3", extra: #""hooks": {"failed": ["\#(jobHook)"]}"#)
        _ = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "20", ok, bad]).status, 1, "one job failed")
        let files = [h.path("spool.\(ok).json"), h.path("job.\(ok).json"), h.path("spool.\(bad).json"), h.path("job.\(bad).json")]
        // Each hook writes its stdin, then its environment.
        h.waitUntil("all four hooks") { files.allSatisfy { FileManager.default.fileExists(atPath: $0.replacingOccurrences(of: ".json", with: ".env")) } }

        let done = try h.json(try String(contentsOfFile: h.path("spool.\(ok).json"), encoding: .utf8))
        XCTAssertEqual(done["id"] as? String, ok)
        XCTAssertEqual(done["state"] as? String, "completed")
        XCTAssertEqual((done["output"] as? [String: Any])?["bytes"] as? Int, 7)
        XCTAssertEqual(try String(contentsOfFile: h.path("job.\(ok).json"), encoding: .utf8),
                       try String(contentsOfFile: h.path("spool.\(ok).json"), encoding: .utf8), "both hooks read the same record")
        let e1 = try env(h.path("job.\(ok).env"))
        XCTAssertEqual(e1["EXPORTCTL_ID"], ok)
        XCTAssertEqual(e1["EXPORTCTL_STATE"], "completed")
        XCTAssertEqual(e1["EXPORTCTL_KIND"], "mp3")
        XCTAssertEqual(e1["EXPORTCTL_OUTPUT"], h.path("out/ok.mp3"))
        XCTAssertEqual(e1["EXPORTCTL_BYTES"], "7")
        XCTAssertEqual(e1["EXPORTCTL_SPOOL"], h.spool)
        XCTAssertEqual(e1["EXPORTCTL_DELIVERY"], "\(ok).completed.1.job-hook")
        XCTAssertNil(e1["EXPORTCTL_ERROR_CODE"])

        let failed = try h.json(try String(contentsOfFile: h.path("job.\(bad).json"), encoding: .utf8))
        XCTAssertEqual(failed["state"] as? String, "failed")
        XCTAssertEqual((failed["error"] as? [String: Any])?["code"] as? String, "invalid-media")
        let e2 = try env(h.path("spool.\(bad).env"))
        XCTAssertEqual(e2["EXPORTCTL_STATE"], "failed")
        XCTAssertEqual(e2["EXPORTCTL_ERROR_CODE"], "invalid-media")
        XCTAssertEqual(e2["EXPORTCTL_ERROR_MESSAGE"], "fake: this input is broken")

        let log = try String(contentsOfFile: h.spool + "/notify.log", encoding: .utf8)
        XCTAssertTrue(log.contains("hook job says hello"), "a hook's stdout goes to notify.log:\n\(log)")
        XCTAssertTrue(log.contains("\(ok).completed.1.job-hook: hook exit 0"), log)
        h.waitUntil("an empty outbox") { h.files(in: "spool/outbox").isEmpty }
    }

    func testFailingOrHangingHookChangesNothingAndDoesNotHoldUpTheNextJob() throws {
        try h.writeSettings(#"{"notifications": {"hookTimeoutSeconds": 1, "hooks": {"completed": ["sh", "-c", "sleep 30"]}}}"#)
        let first = try h.submitNotifyJob(output: "a.mp3", extra: #""hooks": {"completed": ["sh", "-c", "echo broken >&2; exit 3"]}"#)
        let second = try h.submitNotifyJob(output: "b.mp3")
        let started = Date()
        _ = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "20", first, second]).status, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the second job ran while the first one's hook hung")
        let log = h.spool + "/notify.log"
        h.waitUntil("the hung hook killed at its timeout, and the failing one done") {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return text.contains("\(first).completed.1.spool-hook: hook killed after its timeout of 1 s") && text.contains("\(first).completed.1.job-hook: hook exit 3")
        }
        let text = try String(contentsOfFile: log, encoding: .utf8)
        XCTAssertTrue(text.contains("broken"), text)
        XCTAssertTrue(text.contains("\(first).completed.1.job-hook: hook exit 3"), text)
        for id in [first, second] {
            XCTAssertEqual(try h.json(try h.run(["status", "--json", id]).stdout)["state"] as? String, "completed")
        }
    }

    func testHookOfAQueuedJobCancelledWithoutADaemonRunsWhenTheDaemonStarts() throws {
        let hook = try recorder("cancel")
        let id = try h.submitNotifyJob(output: "c.mp3", extra: #""hooks": {"cancelled": ["\#(hook)"]}"#)
        XCTAssertEqual(try h.run(["cancel", id]).status, 0)
        XCTAssertEqual(h.files(in: "spool/outbox"), ["\(id).cancelled.1.job-hook.json"], "queued durably, though no daemon runs")
        _ = try h.startDaemon()
        h.waitUntil("the cancel hook") { FileManager.default.fileExists(atPath: h.path("cancel.\(id).env")) }
        XCTAssertEqual(try env(h.path("cancel.\(id).env"))["EXPORTCTL_STATE"], "cancelled")
        h.waitUntil("an empty outbox") { h.files(in: "spool/outbox").isEmpty }
    }

    func testAJobThatFailsAgainAfterRetryIsNotifiedAgainUnderANewDeliveryID() throws {
        let seen = h.path("deliveries")
        let id = try h.submitNotifyJob(output: "fail.mp3", extra: #""hooks": {"failed": ["sh", "-c", "echo $EXPORTCTL_DELIVERY >> '\#(seen)'"]}"#)
        _ = try h.startDaemon()
        XCTAssertEqual(try h.run(["wait", "--timeout", "20", id]).status, 1)
        h.waitUntil("the first hook") { ((try? String(contentsOfFile: seen, encoding: .utf8)) ?? "").split(separator: "\n").count == 1 }
        XCTAssertEqual(try h.run(["retry", id]).status, 0)
        XCTAssertEqual(try h.run(["wait", "--timeout", "20", id]).status, 1)
        h.waitUntil("the second hook") { ((try? String(contentsOfFile: seen, encoding: .utf8)) ?? "").split(separator: "\n").count == 2 }
        XCTAssertEqual(try String(contentsOfFile: seen, encoding: .utf8), "\(id).failed.1.job-hook\n\(id).failed.2r1.job-hook\n")
    }

    func testDaemonOnceRunsTheHooksOfItsJobsBeforeItExits() throws {
        let hook = try recorder("once")
        let id = try h.submitNotifyJob(output: "o.mp3", extra: #""hooks": {"completed": ["\#(hook)"]}"#)
        let r = try h.run(["daemon", "--once"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try env(h.path("once.\(id).env"))["EXPORTCTL_STATE"], "completed", "ran before the daemon exited")
        XCTAssertEqual(h.files(in: "spool/outbox"), [])
    }

    func testAFullNotifyLogIsMovedAsideBeforeTheNextDelivery() throws {
        let hook = try recorder("rotate")
        let id = try h.submitNotifyJob(output: "o.mp3", extra: #""hooks": {"completed": ["\#(hook)"]}"#)
        let old = String(repeating: "an old delivery line\n", count: (8 << 20) / 21 + 1)
        try old.write(toFile: h.spool + "/notify.log", atomically: false, encoding: .utf8)
        try "older still\n".write(toFile: h.spool + "/notify.log.1", atomically: false, encoding: .utf8)
        let r = try h.run(["daemon", "--once"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: h.spool + "/notify.log.1", encoding: .utf8), old, "the full log, whole; the previous .1 dropped")
        let log = try String(contentsOfFile: h.spool + "/notify.log", encoding: .utf8)
        XCTAssertTrue(log.contains("hook rotate says hello") && log.contains(id), log)
        XCTAssertLessThan(log.utf8.count, 4096)
    }

    func testAHookInterruptedByAKilledDaemonRunsAgainAtTheNextStart() throws {
        let runs = h.path("runs")
        try h.writeSettings(#"{"notifications": {"hookTimeoutSeconds": 10}}"#)
        let id = try h.submitNotifyJob(output: "k.mp3", extra: #""hooks": {"completed": ["sh", "-c", "echo $EXPORTCTL_DELIVERY >> '\#(runs)'; sleep 1"]}"#)
        let first = try h.startDaemon()
        h.waitUntil("the hook to start") { FileManager.default.fileExists(atPath: runs) }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        XCTAssertEqual(h.files(in: "spool/outbox"), ["\(id).completed.1.job-hook.json"], "kept: the hook had not finished")
        _ = try h.startDaemon()
        h.waitUntil("the hook's second run to finish") { h.files(in: "spool/outbox").isEmpty }
        XCTAssertEqual(try String(contentsOfFile: runs, encoding: .utf8), "\(id).completed.1.job-hook\n\(id).completed.1.job-hook\n", "at least once")
        XCTAssertEqual(try h.json(try h.run(["status", "--json", id]).stdout)["state"] as? String, "completed")
    }

    func testSubmitChecksHooks() throws {
        try h.writeJob("j.json", #"{"kind":"mp3","input":"in.wav","output":"out/x.mp3","hooks":{"done":["true"]}}"#)
        var r = try h.run(["submit", "j.json"])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains(#""hooks.done": unknown state; one of completed, failed, cancelled"#), r.stderr)
        try h.writeJob("j.json", #"{"kind":"mp3","input":"in.wav","output":"out/x.mp3","hooks":{"failed":"notify-send oops"}}"#)
        r = try h.run(["submit", "j.json"])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains(#""hooks.failed": expected an array of 1 to 64 strings"#), r.stderr)
        // A spool that confines paths does not take jobs' own commands, unless told to.
        try h.writeJob("hooked.json", #"{"kind":"mp3","input":"in.wav","output":"out/x.mp3","hooks":{"failed":["true"]}}"#)
        try h.writeSettings(#"{"inputRoots": ["\#(h.dir.path)"], "outputRoots": ["\#(h.path("out"))"]}"#)
        r = try h.run(["submit", "hooked.json"])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains(#""notifications.jobHooks": is false by default when inputRoots or outputRoots is set, so a job may not bring its own "hooks""#), r.stderr)
        try h.writeSettings(#"{"inputRoots": ["\#(h.dir.path)"], "outputRoots": ["\#(h.path("out"))"], "notifications": {"jobHooks": true}}"#)
        r = try h.run(["submit", "hooked.json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try h.writeSettings(#"{"notifications": {"jobHooks": false}}"#)
        r = try h.run(["submit", "hooked.json"])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains(#""notifications.jobHooks": is false, so"#), r.stderr)
        try h.writeSettings(#"{"notifications": {"hooks": {"completed": ["./relative.sh"]}}}"#)
        try h.writeJob("j.json", #"{"kind":"mp3","input":"in.wav","output":"out/x.mp3"}"#)
        r = try h.run(["submit", "j.json"])
        XCTAssertEqual(r.status, 78)
        XCTAssertTrue(r.stderr.contains(#""notifications.hooks.completed[0]": './relative.sh' is relative"#), r.stderr)
    }
}
