import Foundation
import XCTest

/// The machine gets in the way: a full disk (a small tmpfs) under the spool
/// and, apart, under the outputs; the spool remounted read-only mid-run; too
/// few open files (`prlimit --nofile`); the wall clock jumping back two hours
/// (libfaketime). Each time: a clear error, no claim that cannot hold, no
/// busy loop (claims and CPU counted), the daemon alive, and the work resumes
/// once the machine is well again.
///
/// The tmpfs tests need root; the clock test needs faketime. Each skips saying why.
final class DiskFaultTests: XCTestCase {
    var h: CLIHarness!
    private var mounts: [String] = []
    private var daemon: Process?
    private var daemonLog: URL { h.dir.appendingPathComponent("daemon.log") }

    override func setUpWithError() throws {
        h = try CLIHarness(needsRenderer: true)
    }

    override func tearDown() {
        if let d = daemon, d.isRunning {
            kill(d.processIdentifier, SIGCONT)
            d.terminate()
            d.waitUntilExit()
        }
        for m in mounts.reversed() { _ = try? tool("/usr/bin/umount", [m]) }
        h?.stopAll()
    }

    @discardableResult
    private func tool(_ path: String, _ args: [String]) throws -> (Int32, String) {
        try CLIHarness.runTool(path, args)
    }

    /// Mounts a tmpfs of `size` on `dir` (under the harness directory).
    private func tmpfs(_ dir: String, size: String) throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
        try FileManager.default.createDirectory(atPath: h.path(dir), withIntermediateDirectories: true)
        let r = try tool("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0700", "tmpfs", h.path(dir)])
        if r.0 != 0 { throw XCTSkip("cannot mount a tmpfs here: \(r.1)") }
        mounts.append(h.path(dir))
    }

    private func remount(_ dir: String, _ options: String) throws {
        let r = try tool("/usr/bin/mount", ["-o", "remount," + options, h.path(dir)])
        XCTAssertEqual(r.0, 0, "mount -o remount,\(options): \(r.1)")
    }

    /// The spool's layout, made by hand so nothing is left to create on a full disk.
    private func makeSpool(_ settings: String) throws {
        for d in ["tmp", "queue", "running", "done", "failed", "cancelled", "status", "cancel"] {
            try FileManager.default.createDirectory(atPath: h.spool + "/" + d, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        chmod(h.spool, 0o700)
        try settings.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
    }

    /// Fills the filesystem holding `dir` until a write fails with ENOSPC.
    private func fill(_ dir: String) throws {
        let r = try tool("/bin/dd", ["if=/dev/zero", "of=" + h.path(dir + "/filler"), "bs=4096"])
        XCTAssertTrue(r.1.contains("No space left on device"), r.1)
    }

    /// Starts the daemon, through `wrapper` (a command and its options) if given, with `env` added.
    private func startDaemon(_ wrapper: [String] = [], env: [String: String] = [:]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: wrapper.first ?? CLIHarness.exportctl)
        p.arguments = Array(wrapper.dropFirst()) + (wrapper.isEmpty ? ["daemon"] : [CLIHarness.exportctl, "daemon"])
        p.currentDirectoryURL = h.dir
        p.environment = h.environment.merging(env) { $1 }
        FileManager.default.createFile(atPath: daemonLog.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: daemonLog)
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        daemon = p
        usleep(300_000)
    }

    private var log: String { (try? String(contentsOf: daemonLog, encoding: .utf8)) ?? "" }

    private func count(_ needle: String) -> Int { log.components(separatedBy: needle).count - 1 }

    /// CPU seconds the daemon has used (utime + stime from /proc/PID/stat).
    private func daemonCPU() -> Double {
        guard let pid = daemon?.processIdentifier,
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return -1 }
        let f = stat[stat.index(after: close)...].split(separator: " ")
        return (Double(f[11]) ?? 0) / 100 + (Double(f[12]) ?? 0) / 100
    }

    private func submit(_ name: String, _ json: String) throws -> CLIHarness.Result {
        try h.writeJob(name, json)
        return try h.run(["submit", name])
    }

    private func state(_ id: String) throws -> String {
        try h.json(try h.run(["status", "--json", id]).stdout)["state"] as? String ?? ""
    }

    func testAFullSpoolDiskRefusesSubmitAndDefersTheClaimWithoutSpinning() throws {
        try tmpfs("spool", size: "256k")
        try makeSpool(#"{"retryBackoffSeconds": 0.2}"#)
        try h.makeTone("talk.wav", seconds: 1)
        let a = try submit("a.json", #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        XCTAssertEqual(a.status, 0, a.stderr)
        let id = a.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try fill("spool")

        let b = try submit("b.json", #"{"kind":"mp3","input":"talk.wav","output":"out/b.mp3"}"#)
        XCTAssertEqual(b.status, 74, "a full spool exits 74: \(b.stderr)")
        XCTAssertTrue(b.stderr.contains("No space left on device"), b.stderr)
        XCTAssertEqual(b.stdout, "")
        XCTAssertEqual(h.files(in: "spool/queue"), [id + ".json"], "nothing more queued")
        XCTAssertEqual(h.files(in: "spool/tmp"), [], "no temp left")

        try startDaemon()
        let cpu0 = daemonCPU()
        sleep(3)
        XCTAssertTrue(daemon?.isRunning ?? false, "the daemon lives")
        XCTAssertEqual(try state(id), "queued", "no claim holds while the start cannot be recorded: \(log)")
        let tries = count("cannot record the start")
        XCTAssertGreaterThanOrEqual(tries, 1, "a clear error: \(log)")
        XCTAssertTrue(log.contains("No space left on device"), log)
        XCTAssertLessThanOrEqual(tries, 5, "at least a second between tries, not a loop: \(tries) in 3 s")
        XCTAssertLessThan(daemonCPU() - cpu0, 0.5, "no busy loop")
        XCTAssertEqual(h.files(in: "out"), [])

        try FileManager.default.removeItem(atPath: h.path("spool/filler"))
        let w = try h.run(["wait", "--timeout", "20", id])
        XCTAssertEqual(w.status, 0, "resumes once there is room: \(w.stdout) \(log)")
        XCTAssertEqual(try h.probe(h.path("out/a.mp3")).duration, 1, accuracy: 1152.0 / 44100)
        XCTAssertEqual(h.files(in: "spool/running"), [])
        XCTAssertTrue(try String(contentsOfFile: h.spool + "/analytics.jsonl", encoding: .utf8).hasSuffix("\n"), "the log has no torn line")
    }

    /// The output's filesystem fills up while a job renders: the render fails
    /// with the reason, its partial temp is removed, the job waits (for space,
    /// by the disk admission, or to retry) and completes once there is room.
    func testAFullOutputDiskMidRenderDefersTheJobAndItResumesWhenSpaceReturns() throws {
        try tmpfs("out", size: "160m")
        try makeSpool(#"{"retryBackoffSeconds": 0.5, "maxAttempts": 10, "diskMarginMB": 0}"#)
        try h.makeTone("long.wav", seconds: 300)
        // About 12 MB of mp3 at 320 kb/s; the disk fills up under it.
        let s = try submit("big.json", #"{"kind":"mp3","input":"long.wav","output":"out/big.mp3","bitrate":320}"#)
        XCTAssertEqual(s.status, 0, s.stderr)
        let id = s.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try startDaemon()
        _ = try h.waitFor(id, timeout: 30) { $0["state"] as? String == "processing" && ($0["progress"] as? Double ?? 0) > 0.02 }
        try fill("out")
        let waiting = try h.waitFor(id, timeout: 30) { $0["state"] as? String != "processing" }
        let error = (waiting["error"] as? [String: Any])?["message"] as? String ?? ""
        XCTAssertTrue(error.contains("No space left on device") || error.contains("too large"), "the reason is shown: \(waiting)")
        XCTAssertNotEqual(waiting["state"] as? String, "failed", "a full disk is not the job's fault: \(waiting)")
        XCTAssertTrue(daemon?.isRunning ?? false, "the daemon lives")
        XCTAssertEqual(h.files(in: "out"), ["filler"], "the partial temp is removed, its space given back")
        let cpu0 = daemonCPU()
        sleep(2)
        XCTAssertLessThan(daemonCPU() - cpu0, 0.5, "no busy loop while the disk is full")
        let blocked = try h.json(try h.run(["status", "--json", id]).stdout)

        try FileManager.default.removeItem(atPath: h.path("out/filler"))
        let w = try h.run(["wait", "--timeout", "60", id])
        XCTAssertEqual(w.status, 0, "resumes once there is room: \(w.stdout) \(log)")
        XCTAssertEqual(try h.probe(h.path("out/big.mp3")).duration, 300, accuracy: 1152.0 / 44100)
        XCTAssertEqual(h.files(in: "out"), ["big.mp3"])
        print("full output disk: \(error); then \(blocked["state"] ?? "")\((blocked["deferredReason"] as? String).map { ": " + $0 } ?? ""); completed on attempt \(try h.json(try h.run(["status", "--json", id]).stdout)["attempts"] ?? 0)")
    }

    func testAReadOnlySpoolMidRunMakesNoClaimsAndResumesWhenWritable() throws {
        try tmpfs("spool", size: "16m")
        try makeSpool(#"{"retryBackoffSeconds": 0.2}"#)
        try h.makeTone("talk.wav", seconds: 1)
        try startDaemon()
        // Jobs arrive while the daemon is stopped; the spool turns read-only before it goes on.
        kill(daemon!.processIdentifier, SIGSTOP)
        var ids: [String] = []
        for i in 0..<3 {
            let s = try submit("j\(i).json", #"{"kind":"mp3","input":"talk.wav","output":"out/j\#(i).mp3"}"#)
            XCTAssertEqual(s.status, 0, s.stderr)
            ids.append(s.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try remount("spool", "ro")
        let cpu0 = daemonCPU()
        kill(daemon!.processIdentifier, SIGCONT)
        sleep(3)
        XCTAssertTrue(daemon?.isRunning ?? false, "the daemon lives")
        XCTAssertEqual(h.files(in: "spool/queue").count, 3, "no job claimed")
        XCTAssertEqual(h.files(in: "spool/running"), [])
        let claims = count("cannot be claimed")
        XCTAssertGreaterThanOrEqual(claims, 3, "a clear error for each job: \(log)")
        XCTAssertTrue(log.contains("Read-only file system"), log)
        XCTAssertLessThanOrEqual(claims, 3 * 5, "one try a second per job, not a loop: \(claims) in 3 s")
        XCTAssertLessThan(daemonCPU() - cpu0, 0.5, "no busy loop")
        let refused = try submit("k.json", #"{"kind":"mp3","input":"talk.wav","output":"out/k.mp3"}"#)
        XCTAssertEqual(refused.status, 74, "submit to a read-only spool exits 74: \(refused.stderr)")
        XCTAssertTrue(refused.stderr.contains("Read-only file system"), refused.stderr)

        try remount("spool", "rw")
        let w = try h.run(["wait", "--timeout", "20"] + ids)
        XCTAssertEqual(w.status, 0, "all resume once writable: \(w.stdout) \(log)")
        XCTAssertEqual(h.files(in: "out"), ["j0.mp3", "j1.mp3", "j2.mp3"])
        print("read-only spool: \(claims) claim attempts in 3 s for 3 jobs, \(String(format: "%.2f", daemonCPU() - cpu0)) s CPU")
    }

    /// `prlimit --nofile`: at 16 the job renders. Then 10, 9, 8 (the render's
    /// pipe, the status record, the claim's open run out) and 6: a daemon that cannot start says so (exit non-zero, "Too many
    /// open files"); one that starts defers the job with the reason, lives,
    /// does not spin, and completes it once its limit is raised (`prlimit --pid`).
    func testTooFewOpenFilesDefersTheJobAndTheDaemonLives() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") else { throw XCTSkip("prlimit (util-linux) is missing") }
        // Attempts enough that a job failing EMFILE at once is still waiting when the limit is raised.
        try makeSpool(#"{"retryBackoffSeconds": 0.3, "maxAttempts": 50}"#)
        try h.makeTone("talk.wav", seconds: 1)
        var report: [String] = []
        var deferredAt: [Int] = []
        for limit in [16, 10, 9, 8, 6] {
            // A low soft limit under a high hard one, so the test can raise it again without CAP_SYS_RESOURCE.
            try startDaemon(["/usr/bin/prlimit", "--nofile=\(limit):256"])
            let s = try submit("n\(limit).json", #"{"kind":"mp3","input":"talk.wav","output":"out/n\#(limit).mp3"}"#)
            XCTAssertEqual(s.status, 0, s.stderr)
            let id = s.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let cpu0 = daemonCPU()
            if limit == 16 {
                let w = try h.run(["wait", "--timeout", "20", id])
                XCTAssertEqual(w.status, 0, "16 open files are enough: \(w.stdout) \(log)")
                report.append("16: completed")
            } else if !(daemon?.isRunning ?? false) {
                XCTAssertNotEqual(daemon?.terminationStatus, 0)
                XCTAssertTrue(log.contains("Too many open files"), "nofile=\(limit): a daemon that cannot start says why: \(log)")
                report.append("\(limit): refused to start (\(log.split(separator: "\n").last.map(String.init) ?? ""))")
                let d = try h.run(["daemon", "--once"])
                XCTAssertEqual(d.status, 0, d.stderr)
            } else {
                usleep(800_000)
                XCTAssertTrue(daemon?.isRunning ?? false, "nofile=\(limit): the daemon lives: \(log)")
                let st = try state(id)
                if st != "completed" {
                    XCTAssertTrue(log.contains("Too many open files"), "nofile=\(limit): a clear error: \(log)")
                    XCTAssertEqual(h.files(in: "spool/running"), [], "nofile=\(limit): nothing stuck in running/")
                    XCTAssertLessThan(daemonCPU() - cpu0, 0.4, "nofile=\(limit): no busy loop")
                    let line = log.split(separator: "\n").last { $0.contains("Too many open files") }.map(String.init) ?? ""
                    let r = try tool("/usr/bin/prlimit", ["--pid", "\(daemon!.processIdentifier)", "--nofile=256:256"])
                    XCTAssertEqual(r.0, 0, r.1)
                    deferredAt.append(limit)
                    report.append("\(limit): deferred (\(line.replacing(#/[0-9a-f]{13}-[0-9a-f]{6}/#, with: "ID").replacing(h.dir.path, with: "")))")
                } else {
                    report.append("\(limit): completed")
                }
                let w = try h.run(["wait", "--timeout", "30", id])
                XCTAssertEqual(w.status, 0, "nofile=\(limit): completes (once the limit is raised): \(w.stdout) \(log)")
            }
            XCTAssertEqual(try h.probe(h.path("out/n\(limit).mp3")).duration, 1, accuracy: 1152.0 / 44100)
            if let d = daemon, d.isRunning { d.terminate(); d.waitUntilExit() }
        }
        XCTAssertFalse(deferredAt.isEmpty, "some limit let the daemon start but not render: \(report)")
        print("prlimit --nofile: " + report.joined(separator: "; "))
    }

    /// The wall clock jumps back two hours while a job waits to retry:
    /// the retry delays (monotonic) still hold, no tight loop, and a fresh
    /// temp is kept by a daemon started after the jump (a stale one is swept).
    func testAClockJumpBackTwoHoursMakesNoTightLoopAndKeepsFreshTemps() throws {
        let lib = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
        guard FileManager.default.fileExists(atPath: lib) else { throw XCTSkip("libfaketime is missing (Debian: faketime)") }
        try makeSpool(#"{"retryBackoffSeconds": 0.4, "maxAttempts": 5}"#)
        try "not audio".write(toFile: h.path("in.wav"), atomically: true, encoding: .utf8)
        // A renderer that fails transiently twice, noting each start on the monotonic clock (/proc/uptime).
        let script = """
        #!/bin/sh
        [ "$1" = --check ] && exit 0
        n=$(cat '\(h.path("attempts"))' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '\(h.path("attempts"))'
        cut -d' ' -f1 /proc/uptime >> '\(h.path("starts"))'
        if [ $n -lt 3 ]; then echo '{"event":"error","code":"io","message":"write: No space left on device","transient":true}'; exit 75; fi
        printf 'ID3fake' > "$2"
        echo '{"event":"result","duration":1.0,"bytes":7,"mediaSeconds":1.0,"codec":"mp3"}'
        """
        try script.write(toFile: h.path("fake-render"), atomically: true, encoding: .utf8)
        chmod(h.path("fake-render"), 0o755)
        h.extraEnvironment["EXPORTCTL_RENDERER"] = h.path("fake-render")
        let clock = h.path("faketime.txt")
        try "+0\n".write(toFile: clock, atomically: true, encoding: .utf8)
        // Only the daemon (and its render children) run under libfaketime.
        let faked = ["LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": clock, "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"]

        // Two temps in tmp/: one just written, one 40 hours old (real time).
        try "fresh".write(toFile: h.spool + "/tmp/6618f0000000a-aaaaaa", atomically: false, encoding: .utf8)
        try "stale".write(toFile: h.spool + "/tmp/6618f0000000b-bbbbbb", atomically: false, encoding: .utf8)
        let old = Date().addingTimeInterval(-40 * 3600)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: h.spool + "/tmp/6618f0000000b-bbbbbb")

        try h.writeJob("j.json", #"{"kind":"mp3","input":"in.wav","output":"out/o.mp3"}"#)
        let s = try h.run(["submit", "j.json"])
        XCTAssertEqual(s.status, 0, s.stderr)
        let id = s.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The clock jumps back before the daemon starts, and again while it runs.
        try "-2h\n".write(toFile: clock, atomically: true, encoding: .utf8)
        // Through timeout(1): any Swift program exec'd straight under libfaketime's preload
        // gets an empty CommandLine.arguments (seen here); as a child of a preloaded process it gets them.
        try startDaemon(["/usr/bin/timeout", "600"], env: faked)
        XCTAssertTrue(daemon!.isRunning, "the daemon runs under libfaketime: \(log)")
        _ = try h.waitFor(id) { $0["nextAttemptAt"] != nil }
        try "-4h\n".write(toFile: clock, atomically: true, encoding: .utf8)
        let w = try h.run(["wait", "--timeout", "20", id])
        XCTAssertEqual(w.status, 0, w.stdout + w.stderr + log)

        let starts = try String(contentsOfFile: h.path("starts"), encoding: .utf8).split(separator: "\n").compactMap { Double($0) }
        XCTAssertEqual(starts.count, 3, "three starts, no tight loop of retries")
        if starts.count == 3 {
            // The delays are jittered down to half (RetryTests).
            XCTAssertGreaterThanOrEqual(starts[1] - starts[0], 0.2, "the first retry waits (0.4 s, jittered)")
            XCTAssertGreaterThanOrEqual(starts[2] - starts[1], 0.4, "the second too (0.8 s, jittered), though the clock went back 2 h meanwhile")
            XCTAssertLessThan(starts[2] - starts[0], 10, "and the job is not held for the hours the clock went back")
        }
        XCTAssertEqual(h.files(in: "spool/tmp"), ["6618f0000000a-aaaaaa"], "the fresh temp kept, the 40-hour-old one swept: \(log)")
        print("clock jump: starts \(starts.map { String(format: "%.2f", $0 - (starts.first ?? 0)) }) s apart on the monotonic clock")
    }
}
