import Foundation
import XCTest

/// A shared spool (`sharedGroup`) with a root daemon and two throwaway users
/// of the group, each running the real `exportctl` through `setpriv`: each
/// one's job renders as them (the output is theirs), and neither can read
/// the status of, cancel, or overwrite the output of the other's jobs.
final class SharedSpoolTests: XCTestCase {
    var h: CLIHarness!
    static let group = "exportctl-shr"
    static let users = ["exportctl-ann", "exportctl-bob"]
    var uid: [String: uid_t] = [:]
    var gid: gid_t = 0

    private static func sh(_ path: String, _ args: [String]) -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return -1 }
        p.waitUntilExit()
        return p.terminationStatus
    }

    override func setUpWithError() throws {
        guard getuid() == 0 else { throw XCTSkip("SharedSpoolTests: needs root, to make throwaway users and run the daemon as root") }
        for tool in ["/usr/sbin/useradd", "/usr/sbin/groupadd", "/usr/bin/setpriv"] where !FileManager.default.isExecutableFile(atPath: tool) {
            throw XCTSkip("SharedSpoolTests: \(tool) is missing")
        }
        _ = SharedSpoolTests.sh("/usr/sbin/groupadd", ["-f", SharedSpoolTests.group])
        for u in SharedSpoolTests.users where getpwnam(u) == nil {
            _ = SharedSpoolTests.sh("/usr/sbin/useradd", ["-M", "-N", "-g", SharedSpoolTests.group, "-s", "/usr/sbin/nologin", u])
        }
        for u in SharedSpoolTests.users {
            guard let pw = getpwnam(u) else { throw XCTSkip("SharedSpoolTests: could not create the user \(u)") }
            uid[u] = pw.pointee.pw_uid
        }
        gid = getgrnam(SharedSpoolTests.group)!.pointee.gr_gid
        h = try CLIHarness(needsRenderer: true)
        chmod(h.path(""), 0o755)
        for (d, owner, mode) in [("ann", "exportctl-ann", 0o700), ("bob", "exportctl-bob", 0o700), ("common", "", 0o1777)] {
            try FileManager.default.createDirectory(atPath: h.path(d), withIntermediateDirectories: true)
            if !owner.isEmpty { chown(h.path(d), uid[owner]!, gid) }
            chmod(h.path(d), mode_t(mode))
        }
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true)
        try #"{"sharedGroup": "\#(SharedSpoolTests.group)", "rescanSeconds": 1}"#.write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
    }

    override func tearDown() { h?.stopAll() }

    /// Runs `exportctl ARGS` as `user` (its uid, the group, no other groups) in DIR.
    func run(as user: String, in dir: String, _ args: [String], program: String = CLIHarness.exportctl) throws -> CLIHarness.Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        p.arguments = ["--reuid=\(uid[user]!)", "--regid=\(gid)", "--init-groups", "--", program] + args
        p.currentDirectoryURL = URL(fileURLWithPath: h.path(dir))
        p.environment = h.environment
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLIHarness.Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    func give(_ file: String, to user: String) { chown(h.path(file), uid[user]!, gid) }

    func submit(as user: String, _ name: String, _ json: String) throws -> String {
        let r = try trySubmit(as: user, name, json)
        XCTAssertEqual(r.status, 0, "\(user) submits \(name): \(r.stderr)")
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `user` writes job file `name` in their folder and runs `exportctl submit` on it.
    func trySubmit(as user: String, _ name: String, _ json: String) throws -> CLIHarness.Result {
        try h.writeJob("\(user == "exportctl-ann" ? "ann" : "bob")/\(name)", json)
        give("\(user == "exportctl-ann" ? "ann" : "bob")/\(name)", to: user)
        return try run(as: user, in: user == "exportctl-ann" ? "ann" : "bob", ["submit", name])
    }

    func state(_ id: String) throws -> [String: Any] { try h.json(try h.run(["status", "--json", id]).stdout) }

    func waitUntil(_ id: String, _ states: Set<String>) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let s = try state(id)
            if let st = s["state"] as? String, states.contains(st) { return s }
            usleep(50_000)
        }
        XCTFail("\(id) never reached \(states)")
        return [:]
    }

    func testEachUsersJobsAreTheirsAloneToSeeCancelAndOverwrite() throws {
        let log = h.dir.appendingPathComponent("daemon.log")
        _ = try h.startDaemon([], stderr: log)
        let deadline = Date().addingTimeInterval(5)
        while !FileManager.default.fileExists(atPath: h.spool + "/drop") && Date() < deadline { usleep(20_000) }
        var st = stat()
        XCTAssertEqual(lstat(h.spool + "/drop", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o1770, "drop/: the group may add files, not remove others'")
        XCTAssertEqual(st.st_gid, gid)

        try h.makeTone("ann/t.wav", seconds: 0.5)
        give("ann/t.wav", to: "exportctl-ann")
        try h.makeTone("bob/t.wav", seconds: 0.5)
        give("bob/t.wav", to: "exportctl-bob")

        // Ann's job renders as Ann: her output is hers; `submit --wait` follows it from drop/ to the end.
        try h.writeJob("ann/a.json", #"{"kind":"mp3","input":"t.wav","output":"a.mp3"}"#)
        give("ann/a.json", to: "exportctl-ann")
        let waited = try run(as: "exportctl-ann", in: "ann", ["submit", "--wait", "--timeout", "20", "a.json"])
        XCTAssertEqual(waited.status, 0, waited.stderr)
        let a = waited.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try state(a)["state"] as? String, "completed")
        let overview = try run(as: "exportctl-ann", in: "ann", ["status"])
        XCTAssertTrue(overview.stdout.contains("daemon: running"), "a member sees the daemon: \(overview.stdout)")
        XCTAssertEqual(lstat(h.path("ann/a.mp3"), &st), 0)
        XCTAssertEqual(st.st_uid, uid["exportctl-ann"], "the output belongs to the submitter")
        let own = try run(as: "exportctl-ann", in: "ann", ["status", "--json", a])
        XCTAssertEqual(own.status, 0, own.stderr)
        XCTAssertTrue(own.stdout.contains("\"completed\""), own.stdout)
        XCTAssertEqual(lstat(h.spool + "/done/\(a).json", &st), 0)
        XCTAssertEqual(st.st_uid, uid["exportctl-ann"], "the job file records the submitter as its owner")
        XCTAssertEqual(st.st_mode & 0o777, 0o400)

        // Bob can neither see Ann's job nor read its files, nor cancel it.
        let seen = try run(as: "exportctl-bob", in: "bob", ["status", a])
        XCTAssertEqual(seen.status, 77, seen.stderr)
        XCTAssertTrue(seen.stderr.contains("job \(a) belongs to another user of this shared spool"), seen.stderr)
        let listed = try run(as: "exportctl-bob", in: "bob", ["list"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertFalse(listed.stdout.contains(a), "Bob's list does not show Ann's job: \(listed.stdout)")
        XCTAssertTrue(try run(as: "exportctl-ann", in: "ann", ["list"]).stdout.contains(a), "Ann's does")
        XCTAssertNotEqual(try run(as: "exportctl-bob", in: "bob", [h.spool + "/done/\(a).json"], program: "/bin/cat").status, 0)
        XCTAssertNotEqual(try run(as: "exportctl-bob", in: "bob", [h.spool + "/status/\(a).json"], program: "/bin/cat").status, 0)

        // A long job of Ann's: Bob's cancel is refused by the command and, planted by hand, by the daemon; Ann's works.
        let endless = h.path("ann/endless.wav")
        FileManager.default.createFile(atPath: endless, contents: Data(
            Array("RIFF".utf8) + [0xFF, 0xFF, 0xFF, 0x7F] + Array("WAVEfmt ".utf8) + [16, 0, 0, 0, 1, 0, 2, 0, 0x44, 0xAC, 0, 0, 0x10, 0xB1, 2, 0, 4, 0, 16, 0]
                + Array("data".utf8) + [0xDB, 0xFF, 0xFF, 0x7F]))
        XCTAssertEqual(truncate(endless, 2_000_000_000), 0)
        give("ann/endless.wav", to: "exportctl-ann")
        let long = try submit(as: "exportctl-ann", "long.json", #"{"kind":"mp3","input":"endless.wav","output":"long.mp3","timeout":30}"#)
        _ = try waitUntil(long, ["processing"])
        let refused = try run(as: "exportctl-bob", in: "bob", ["cancel", long])
        XCTAssertEqual(refused.status, 77, refused.stderr)
        XCTAssertEqual(try run(as: "exportctl-bob", in: "bob", [h.spool + "/cancel/\(long)"], program: "/usr/bin/touch").status, 0)
        usleep(500_000)
        XCTAssertEqual(try state(long)["state"] as? String, "processing", "Bob's planted request did not cancel Ann's job")
        XCTAssertTrue(try String(contentsOf: log, encoding: .utf8).contains("\(long): cancel request by uid \(uid["exportctl-bob"]!) refused"))
        let cancelled = try run(as: "exportctl-ann", in: "ann", ["cancel", long])
        XCTAssertEqual(cancelled.status, 0, cancelled.stderr)
        XCTAssertEqual(try waitUntil(long, ["cancelled"])["state"] as? String, "cancelled")

        // A folder both may write (sticky, like /tmp): Bob's "overwrite" never replaces Ann's file.
        let c = try submit(as: "exportctl-ann", "c.json", #"{"kind":"mp3","input":"t.wav","output":"../common/c.mp3"}"#)
        XCTAssertEqual(try waitUntil(c, ["completed", "failed"])["state"] as? String, "completed")
        let before = try Data(contentsOf: URL(fileURLWithPath: h.path("common/c.mp3")))
        let b = try submit(as: "exportctl-bob", "b.json", #"{"kind":"mp3","input":"t.wav","output":"../common/c.mp3","overwrite":true,"bitrate":64}"#)
        let failed = try waitUntil(b, ["completed", "failed"])
        XCTAssertEqual(failed["state"] as? String, "failed")
        let message = (failed["error"] as? [String: Any])?["message"] as? String ?? ""
        XCTAssertTrue(message.contains("belongs to another user"), message)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: h.path("common/c.mp3"))), before, "Ann's output is untouched")
        XCTAssertEqual(lstat(h.path("common/c.mp3"), &st), 0)
        XCTAssertEqual(st.st_uid, uid["exportctl-ann"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: h.path("common")), ["c.mp3"], "no temp left")

        // A shared spool's daemon must be root.
        let notRoot = try run(as: "exportctl-bob", in: "bob", ["daemon", "--once"])
        XCTAssertEqual(notRoot.status, 78, notRoot.stderr)
        XCTAssertTrue(notRoot.stderr.contains("a shared spool's daemon must run as root"), notRoot.stderr)

        // And Bob cannot write into Ann's folder at all: refused at submit.
        try h.writeJob("bob/x.json", #"{"kind":"mp3","input":"t.wav","output":"../ann/x.mp3"}"#)
        give("bob/x.json", to: "exportctl-bob")
        let into = try run(as: "exportctl-bob", in: "bob", ["submit", "x.json"])
        XCTAssertNotEqual(into.status, 0, into.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: h.path("ann/x.mp3")))
    }
}
