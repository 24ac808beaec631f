import Foundation
import XCTest

/// zzuf-mutated media (`zzuf -r 0.01 -s SEED`: 1 % of the bits flipped,
/// header included) and a symbolic link as input, on a spool with input and
/// output roots, rendered by one `daemon --once` under `strace -f -y`: every
/// job fails with a reason naming its input or completes whole, the daemon
/// drains the queue, the link is refused, and nothing outside the roots is
/// opened.
final class MutatedInputTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness(needsRenderer: true)
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/zzuf") else {
            throw XCTSkip("zzuf is not installed (make test-deps installs it)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else { throw XCTSkip("strace is not installed") }
        for d in ["in", "outside"] { try FileManager.default.createDirectory(atPath: h.path(d), withIntermediateDirectories: true) }
        try FileManager.default.createDirectory(atPath: h.spool, withIntermediateDirectories: true)
        try #"{"inputRoots":["\#(h.path("in"))"],"outputRoots":["\#(h.path("out"))"]}"#
            .write(toFile: h.spool + "/settings.json", atomically: true, encoding: .utf8)
    }

    override func tearDown() { h?.stopAll() }

    /// `zzuf -r 0.01 -s seed cat source > target`.
    private func zzuf(_ source: String, _ target: String, seed: Int) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/zzuf")
        p.arguments = ["-r", "0.01", "-s", "\(seed)", "cat", h.path(source)]
        FileManager.default.createFile(atPath: h.path(target), contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: h.path(target)))
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "zzuf \(source)")
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: h.path(source))), try Data(contentsOf: URL(fileURLWithPath: h.path(target))))
    }

    func testZzufMutatedMediaAndALinkFailClearlyAndOpenNothingOutside() throws {
        let canary = h.path("outside/canary-secret.wav")
        try h.makeTone("outside/canary-secret.wav", seconds: 0.5)
        var jobs: [(name: String, json: String)] = []
        for (name, args) in [("t.wav", ["-c:a", "pcm_s16le"]), ("t.flac", ["-c:a", "flac"]), ("t.mp3", ["-c:a", "libmp3lame"]),
                             ("t.ogg", ["-c:a", "libvorbis"]), ("t.m4a", ["-c:a", "aac"])] {
            try h.makeMedia("in/" + name, ["-f", "lavfi", "-i", "sine=d=3"] + args)
            for seed in [1, 2] {
                let mutated = "in/z\(seed)-" + name
                try zzuf("in/" + name, mutated, seed: seed)
                jobs.append((mutated, #"{"kind":"mp3","input":"\#(mutated)","output":"out/\#(jobs.count).mp3"}"#))
            }
        }
        try h.makeMedia("in/p.png", ["-f", "lavfi", "-i", "testsrc=s=320x240:d=1", "-frames:v", "1"])
        for seed in [1, 2] {
            let mutated = "in/z\(seed)-p.png"
            try zzuf("in/p.png", mutated, seed: seed)
            jobs.append((mutated, #"{"kind":"carousel","output":"out/c\#(seed)","size":"square","slides":[{"image":"\#(mutated)"}]}"#))
        }

        var ids: [(String, String)] = []
        var refusedAtSubmit = 0
        for (i, job) in jobs.enumerated() {
            try h.writeJob("j\(i).json", job.json)
            let r = try h.run(["submit", "j\(i).json"])
            if r.status == 0 {
                ids.append((r.stdout.split(separator: "\n").first.map(String.init) ?? "", job.name))
            } else {
                // The carousel's media check reads the picture at submit.
                XCTAssertEqual(r.status, 65, "\(job.name): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains(lastComponent(job.name)), "\(job.name): the message names it: \(r.stderr)")
                refusedAtSubmit += 1
                print("mutated \(job.name): refused at submit: \(r.stderr)")
            }
        }
        // A link in the input root to a file outside it: refused, naming the link.
        try FileManager.default.createSymbolicLink(atPath: h.path("in/link.wav"), withDestinationPath: canary)
        try h.writeJob("link.json", #"{"kind":"mp3","input":"in/link.wav","output":"out/link.mp3"}"#)
        let link = try h.run(["submit", "link.json"])
        XCTAssertEqual(link.status, 65, link.stderr)
        XCTAssertTrue(link.stderr.contains("in/link.wav' goes through a symbolic link"), link.stderr)

        try h.makeTone("in/good.wav", seconds: 0.5)
        try h.writeJob("good.json", #"{"kind":"mp3","input":"in/good.wav","output":"out/good.mp3"}"#)
        let good = try h.run(["submit", "good.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let trace = h.path("opens.trace")
        let r = try h.run(["daemon", "--once"], under: ["/usr/bin/strace", "-f", "-qq", "-y", "-e", "trace=open,openat,openat2,connect", "-o", trace])
        XCTAssertEqual(r.status, 0, "the daemon drained the queue and exited normally")

        var failed = 0, completed = 0
        for (id, input) in ids {
            let s = try h.json(try h.run(["status", "--json", id]).stdout)
            let error = s["error"] as? [String: Any]
            let message = error?["message"] as? String ?? ""
            if s["state"] as? String == "completed" { completed += 1; continue }  // verified whole by the render
            XCTAssertEqual(s["state"] as? String, "failed", "\(input): \(s)")
            XCTAssertTrue(message.contains(lastComponent(input)), "\(input): the message names the input: \(message)")
            XCTAssertNotEqual(error?["code"] as? String, "render-crashed", "\(input): \(message)")
            failed += 1
            print("mutated \(input): \(error?["code"] as? String ?? "?"): \(message)")
        }
        print("MutatedInputTests: \(jobs.count) mutated inputs: \(refusedAtSubmit) refused at submit, \(failed) failed with a reason, \(completed) completed")
        XCTAssertEqual(try h.json(try h.run(["status", "--json", good]).stdout)["state"] as? String, "completed")

        let log = try String(contentsOfFile: trace, encoding: .utf8)
        XCTAssertTrue(log.contains("openat2("), "the render children open beneath the roots")
        XCTAssertFalse(log.contains("canary-secret"), "nothing opened the canary")
        XCTAssertFalse(log.contains("outside/"), "nothing outside the roots was opened")
        XCTAssertFalse(log.contains("sin_port") || log.contains("sin6_port"), "no render connected to a network address")
        XCTAssertEqual(h.files(in: "out").filter { $0.hasPrefix(".") }, [], "no temp left")
    }

    /// The last component, as messages name it (they give the absolute path).
    private func lastComponent(_ path: String) -> String { String(path.split(separator: "/").last ?? "") }
}
