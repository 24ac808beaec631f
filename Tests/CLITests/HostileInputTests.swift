import Foundation
import XCTest

/// A corpus of broken and hostile inputs, made in the test: truncated files of
/// each input type, mutated files, a WAV with an absurd header, an image that
/// claims 16000×16000 pixels, playlists and file lists that point at
/// /etc/passwd, a canary file and a loopback URL, a directory, a FIFO. Each
/// job fails with a reason that names its input, the daemon renders the good
/// job after them, and (under strace) no render ever opens what the
/// playlists point at.
final class HostileInputTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness(needsRenderer: true)
    }

    override func tearDown() { h?.stopAll() }

    private func write(_ name: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: h.path(name)))
    }

    private func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: h.path(name)))) }

    /// Makes the corpus; returns the audio inputs an mp3 job is given.
    private func corpus(canary: String) throws -> [String] {
        try h.makeTone("good.wav", seconds: 2)
        var inputs: [String] = []
        for (name, args) in [("t.flac", ["-c:a", "flac"]), ("t.mp3", ["-c:a", "libmp3lame"]), ("t.ogg", ["-c:a", "libvorbis"]),
                             ("t.m4a", ["-c:a", "aac"])] {
            try h.makeMedia(name, ["-f", "lavfi", "-i", "sine=d=5"] + args)
            let b = try bytes(name)
            // Truncated to a third, and mutated: every 61st byte after the header flipped (as zzuf -r 0.016 would).
            try write("cut-" + name, Array(b.prefix(b.count / 3)))
            try write("zz-" + name, b.enumerated().map { $0.offset > 512 && $0.offset % 61 == 0 ? $0.element ^ 0x5a : $0.element })
            inputs += ["cut-" + name, "zz-" + name]
        }
        // A WAV header claiming 65535 channels at 4 GHz and a 4 GiB data chunk, with 1 KB of data.
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
        var wav = Array("RIFF".utf8) + le32(0xFFFF_FFF0) + Array("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(65535)
        wav += le32(4_000_000_000) + le32(0xFFFF_FFFF) + le16(65535) + le16(16) + Array("data".utf8) + le32(0xFFFF_FFF0)
        try write("absurd.wav", wav + [UInt8](repeating: 7, count: 1024))
        // Playlists and file lists that point outside.
        try "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile://\(canary)\n#EXTINF:10,\n/etc/passwd\n#EXTINF:10,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n"
            .write(toFile: h.path("list.m3u8"), atomically: true, encoding: .utf8)
        try "ffconcat version 1.0\nfile '\(canary)'\nfile '/etc/passwd'\nfile 'http://127.0.0.1:9/x.wav'\n"
            .write(toFile: h.path("list.ffconcat"), atomically: true, encoding: .utf8)
        // The same, named like audio.
        try FileManager.default.copyItem(atPath: h.path("list.m3u8"), toPath: h.path("playlist.mp3"))
        try FileManager.default.copyItem(atPath: h.path("list.ffconcat"), toPath: h.path("concat.wav"))
        inputs += ["absurd.wav", "list.m3u8", "list.ffconcat", "playlist.mp3", "concat.wav"]
        return inputs
    }

    func testHostileInputsFailWithTheirReasonAndTheDaemonLives() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else { throw XCTSkip("strace is not installed") }
        let canary = h.path("canary-secret.wav")
        try h.makeTone("canary-secret.wav", seconds: 1)
        let inputs = try corpus(canary: canary)
        var ids: [String] = []
        for (i, input) in inputs.enumerated() {
            try h.writeJob("j\(i).json", #"{"kind":"mp3","input":"\#(input)","output":"out/\#(i).mp3"}"#)
            let r = try h.run(["submit", "j\(i).json"])
            XCTAssertEqual(r.status, 0, "\(input): \(r.stderr)")
            ids.append(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try h.writeJob("good.json", #"{"kind":"mp3","input":"good.wav","output":"out/good.mp3"}"#)
        let good = try h.run(["submit", "good.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        // The daemon under strace, following its render children: every open is logged.
        // GNU time reports the largest resident set of strace and of everything
        // reaped below it: the daemon and each render child.
        let trace = h.path("opens.trace"), rss = h.path("rss.txt")
        let timeTool = "/usr/bin/time"
        guard FileManager.default.isExecutableFile(atPath: timeTool) else { throw XCTSkip("GNU time is not installed (Debian package time)") }
        let r = try h.run(["daemon", "--once"], under: [timeTool, "-f", "%M", "-o", rss, "/usr/bin/strace",
                                                       "-f", "-qq", "-e", "trace=open,openat,openat2,connect", "-o", trace])
        XCTAssertEqual(r.status, 0, "the daemon drained the queue and exited normally")

        for (id, input) in zip(ids, inputs) {
            let s = try h.json(try h.run(["status", "--json", id]).stdout)
            let error = s["error"] as? [String: Any]
            let message = error?["message"] as? String ?? ""
            // Mutated files may still decode (the decoder conceals errors, like the CLI): then they must be whole.
            if s["state"] as? String == "completed" {
                XCTAssertTrue(input.hasPrefix("zz-"), "\(input) completed")
                continue
            }
            XCTAssertEqual(s["state"] as? String, "failed", "\(input): \(s)")
            XCTAssertTrue(message.contains(input), "\(input): the message names the input: \(message)")
            XCTAssertNotEqual(error?["code"] as? String, "render-crashed", "\(input): \(message)")
            print("hostile input \(input): \(error?["code"] as? String ?? "?"): \(message)")
        }
        XCTAssertEqual(try h.json(try h.run(["status", "--json", good]).stdout)["state"] as? String, "completed")

        let log = try String(contentsOfFile: trace, encoding: .utf8)
        XCTAssertTrue(log.contains("good.wav") && log.contains("list.m3u8"), "the trace follows the render children's opens")
        XCTAssertFalse(log.contains("/etc/passwd"), "nothing opened /etc/passwd")
        XCTAssertFalse(log.contains("canary-secret"), "nothing opened the canary the playlists name")
        XCTAssertFalse(log.contains("sin_port=htons(9)"), "nothing connected to the loopback URL")
        XCTAssertEqual(h.files(in: "out").filter { $0.hasPrefix(".") }, [], "no temp left")

        // Memory stays bounded: no render (nor the daemon) grew past 256 MB on any of them.
        let peakKB = Int(try String(contentsOfFile: rss, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last ?? "") ?? -1
        XCTAssertGreaterThan(peakKB, 0, "GNU time printed no peak")
        XCTAssertLessThan(peakKB, 256 * 1024, "a render's resident set reached \(peakKB / 1024) MB")
        print("hostile corpus: largest resident set of the daemon and its renders \(peakKB / 1024) MB")
    }

    func testAnImageClaiming16000x16000IsRefusedQuicklyAndADirectoryOrAFIFOIsNoInput() throws {
        // A PNG whose IHDR claims 16000×16000 (with a valid CRC) and no pixel data worth the name.
        func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32($0))) } }
        func crc(_ b: [UInt8]) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for x in b { c ^= UInt32(x); for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 } }
            return ~c
        }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] { be32(UInt32(data.count)) + Array(type.utf8) + data + be32(crc(Array(type.utf8) + data)) }
        let ihdr = be32(16000) + be32(16000) + [8, 2, 0, 0, 0]
        try write("huge.png", [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", [0x78, 0x9c, 0x03, 0, 0, 0, 0, 1]) + chunk("IEND", []))
        try h.makeTone("talk.wav", seconds: 1)
        try h.writeJob("huge.json", #"{"kind":"mp4","output":"out/huge.mp4","size":"square","audio":"talk.wav","slides":[{"image":"huge.png"}],"preset":"ultrafast"}"#)
        let started = Date()
        let r = try h.run(["render", "huge.json"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("huge.png") && r.stderr.contains("megapixels"), r.stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "refused before it allocates 768 MB")

        try FileManager.default.createDirectory(atPath: h.path("dir.wav"), withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(h.path("fifo.wav"), 0o600), 0)
        for input in ["dir.wav", "fifo.wav"] {
            try h.writeJob("x.json", #"{"kind":"mp3","input":"\#(input)","output":"out/x.mp3"}"#)
            let s = try h.run(["submit", "x.json"])
            XCTAssertEqual(s.status, 66, "\(input): \(s.stderr)")
            XCTAssertTrue(s.stderr.contains("'\(input)' is not a regular file"), s.stderr)
        }
    }
}
