import Foundation
import XCTest

/// `submit` under strace: the durable call order, and an error or a crash
/// injected at each step. What submit acknowledged (printed) is queued whole;
/// what it did not acknowledge is not queued, and a failed submit exits non-zero.
final class SubmitFaultTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else { throw XCTSkip("strace is not installed") }
        h = try CLIHarness()
        try h.makeTone("talk.wav", seconds: 1)
        try h.writeJob("j.json", #"{"kind":"mp3","input":"talk.wav","output":"out/a.mp3"}"#)
        // The spool exists already, so the only writes and fsyncs traced are the job's.
        XCTAssertEqual(try h.run(["submit", "j.json"]).status, 0)
        try FileManager.default.removeItem(atPath: h.spool + "/queue")
        try FileManager.default.createDirectory(atPath: h.spool + "/queue", withIntermediateDirectories: false)
    }

    override func tearDown() { h?.stopAll() }

    /// Runs `strace ARGS -- exportctl submit FILES` (j.json by default).
    private func stracedSubmit(_ straceArgs: [String], files: [String] = ["j.json"]) throws -> CLIHarness.Result {
        let result = try h.run(["submit"] + files, under: ["/usr/bin/strace"] + straceArgs + ["--"])
        if result.stderr.contains("PTRACE_TRACEME") || result.stderr.contains("Operation not permitted") {
            throw XCTSkip("ptrace is not permitted here: \(result.stderr)")
        }
        return result
    }

    func testCallOrderIsFsyncFileRenameFsyncDirectoryThenPrint() throws {
        let log = h.path("calls.txt")
        let r = try stracedSubmit(["-f", "-y", "-o", log, "-e", "trace=openat,write,fsync,rename,renameat2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map(String.init)
        func index(_ what: String, _ predicate: (String) -> Bool) throws -> Int {
            try XCTUnwrap(calls.firstIndex(where: predicate), "no \(what) in:\n\(calls.joined(separator: "\n"))")
        }
        let fsyncFile = try index("fsync of the job file") { $0.contains("fsync(") && $0.contains("/tmp/\(id)>") }
        let rename = try index("rename into queue/") { $0.contains("rename") && $0.contains("/queue/\(id).json") && $0.contains("RENAME_NOREPLACE") }
        let fsyncQueue = try index("fsync of queue/") { $0.contains("fsync(") && $0.contains("/queue>") }
        let printed = try index("the id on stdout") { $0.contains("write(1") && $0.contains(id) }
        XCTAssertLessThan(fsyncFile, rename)
        XCTAssertLessThan(rename, fsyncQueue)
        XCTAssertLessThan(fsyncQueue, printed)
    }

    private func assertNothingQueued(_ r: CLIHarness.Result, exit: Int32?, _ message: String, line: UInt = #line) {
        if let exit { XCTAssertEqual(r.status, exit, "\(message): \(r.stderr)", line: line) }
        XCTAssertEqual(r.stdout, "", "no id was acknowledged", line: line)
        XCTAssertEqual(h.files(in: "spool/queue"), [], "nothing queued", line: line)
    }

    func testFsyncErrorOnTheJobFileQueuesNothing() throws {
        let r = try stracedSubmit(["-f", "-o", "/dev/null", "-e", "trace=fsync", "-e", "inject=fsync:error=EIO:when=1"])
        assertNothingQueued(r, exit: 74, "an fsync error exits 74 (EX_IOERR)")
        XCTAssertTrue(r.stderr.contains("fsync") && r.stderr.contains("Input/output error"), r.stderr)
        XCTAssertEqual(h.files(in: "spool/tmp"), [], "the temp is removed")
    }

    func testFullDiskWhileWritingQueuesNothing() throws {
        let r = try stracedSubmit(["-f", "-o", "/dev/null", "-e", "trace=write", "-e", "inject=write:error=ENOSPC:when=1"])
        assertNothingQueued(r, exit: 74, "ENOSPC exits 74")
        XCTAssertTrue(r.stderr.contains("No space left on device"), r.stderr)
        XCTAssertEqual(h.files(in: "spool/tmp"), [])
    }

    func testFsyncErrorOnTheQueueDirectoryRollsBack() throws {
        let r = try stracedSubmit(["-f", "-o", "/dev/null", "-e", "trace=fsync", "-e", "inject=fsync:error=EIO:when=2"])
        assertNothingQueued(r, exit: 74, "the rename is undone when the directory cannot be made durable")
    }

    /// `Submitter.syncfsBatch` (32) jobs or more: 40 job files.
    private func batch() throws -> [String] {
        try (0..<40).map { i in
            try h.writeJob("b\(i).json", #"{"kind":"mp3","input":"talk.wav","output":"out/b\#(i).mp3"}"#)
            return "b\(i).json"
        }
    }

    func testABatchIsMadeDurableByOneSyncfsBeforeAnyRename() throws {
        let log = h.path("calls.txt")
        let r = try stracedSubmit(["-f", "-o", log, "-e", "trace=fsync,syncfs,renameat2"], files: try batch())
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.lines.count, 40)
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").filter { !$0.contains("resumed") && !$0.contains("+++") }
        let syncs = calls.indices.filter { calls[$0].contains("syncfs(") }
        let renames = calls.indices.filter { calls[$0].contains("renameat2(") }
        XCTAssertEqual(syncs.count, 1, calls.joined(separator: "\n"))
        XCTAssertEqual(calls.filter { $0.contains("fsync(") }.count, 1, "no job file is fsynced on its own, only queue/ after the renames")
        XCTAssertEqual(renames.count, 40)
        XCTAssertLessThan(syncs[0], renames[0], "every job file is on disk before any is queued")
        XCTAssertEqual(h.files(in: "spool/queue").count, 40)
    }

    func testSyncfsErrorOrCrashInABatchQueuesNothing() throws {
        let files = try batch()
        let r = try stracedSubmit(["-f", "-o", "/dev/null", "-e", "trace=syncfs", "-e", "inject=syncfs:error=EIO"], files: files)
        assertNothingQueued(r, exit: 74, "a syncfs error exits 74")
        XCTAssertTrue(r.stderr.contains("syncfs") && r.stderr.contains("Input/output error"), r.stderr)
        XCTAssertEqual(h.files(in: "spool/tmp"), [], "the temps are removed")
        let k = try stracedSubmit(["-f", "-o", "/dev/null", "-e", "trace=syncfs", "-e", "inject=syncfs:signal=KILL"], files: files)
        assertNothingQueued(k, exit: nil, "killed at the syncfs")
        XCTAssertNotEqual(k.status, 0)
    }

    func testCrashAtTheRenameQueuesNothing() throws {
        let r = try stracedSubmit(["-f", "-o", "/dev/null", "-e", "trace=renameat2", "-e", "inject=renameat2:signal=KILL"])
        assertNothingQueued(r, exit: nil, "killed before the rename")
        XCTAssertNotEqual(r.status, 0)
        // The orphaned temp stays in tmp/, which the daemon sweeps by age.
        XCTAssertLessThanOrEqual(h.files(in: "spool/tmp").count, 1)
    }
}
