import ExportCore
import Foundation
import XCTest

/// `exportctl-render JOBFILE TEMPFILE` end to end: the contract the daemon
/// and `exportctl render` rely on (events, exit status, temp file handling).
final class RenderChildTests: XCTestCase {
    var media: MediaFixtures!
    var binary: RenderBinary!
    let jobID = "65f1c2a8b3e41-9c03fa"

    override func setUpWithError() throws {
        binary = try RenderBinary.locate()
        guard MediaFixtures.ffmpegPath != nil, MediaFixtures.ffprobePath != nil else {
            throw XCTSkip("these tests need the ffmpeg and ffprobe CLIs")
        }
        media = try MediaFixtures()
    }

    override func tearDown() { media?.remove() }

    /// A stored job file (as the spool holds it) for `input`.
    func jobFile(_ input: String, _ configure: (inout Job) -> Void = { _ in }) throws -> String {
        var job = Job(kind: .mp3, input: input, output: media.path("final.mp3"))
        job.id = JobID(jobID)
        job.submittedAt = 1_790_000_000
        configure(&job)
        let path = media.path("job-\(UUID().uuidString.prefix(6)).json")
        try Data(job.storedJSON().jsonText().utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func assertError(_ run: RenderBinary.Run, code: String, transient: Bool, status: Int32,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, status, "exit status", file: file, line: line)
        let last = run.last
        XCTAssertEqual(last?["event"]?.stringValue, "error", file: file, line: line)
        XCTAssertEqual(last?["code"]?.stringValue, code, file: file, line: line)
        XCTAssertEqual(last?["transient"]?.boolValue, transient, file: file, line: line)
        XCTAssertFalse(last?["message"]?.stringValue?.isEmpty ?? true, file: file, line: line)
    }

    func testRendersAStoredJobAndReportsTheResult() throws {
        let wav = try media.writeWAV("talk.wav", seconds: 4)
        let temp = media.path(".final.mp3.tmp")
        let run = try binary.run([try jobFile(wav) { $0.start = 0.5; $0.mp3.metadata = [("title", "Talk")] }, temp])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.stderr, "", "nothing on stderr when all is well")

        let events = run.events()
        XCTAssertGreaterThanOrEqual(events.count, 2)
        for e in events.dropLast() {
            XCTAssertEqual(e["event"]?.stringValue, "progress")
            XCTAssertTrue((0...1).contains(e["progress"]?.doubleValue ?? -1))
            XCTAssertTrue(["probing", "encoding", "verifying"].contains(e["stage"]?.stringValue ?? ""))
        }
        XCTAssertEqual(events.first?["stage"]?.stringValue, "probing")
        let result = try XCTUnwrap(events.last)
        XCTAssertEqual(result["event"]?.stringValue, "result")
        XCTAssertEqual(result["codec"]?.stringValue, "mp3")
        XCTAssertEqual(result["sampleRate"]?.intValue, 44100)
        XCTAssertEqual(result["channels"]?.intValue, 2)
        XCTAssertEqual(result["bitrate"]?.intValue, 128)
        XCTAssertEqual(result["duration"]?.doubleValue ?? 0, 3.5, accuracy: 0.0005)
        XCTAssertEqual(result["mediaSeconds"]?.doubleValue ?? 0, 3.5, accuracy: 0.0005)
        let size = try FileManager.default.attributesOfItem(atPath: temp)[.size] as? Int
        XCTAssertEqual(result["bytes"]?.intValue, Int64(size ?? -1))

        // The temp file is left for the caller to publish, complete and playable.
        XCTAssertEqual(try media.decodeMono(temp).count, 154_350)
        let probe = try media.probe(temp)
        XCTAssertEqual(probe.codec, "mp3")
        XCTAssertEqual(probe.tags["title"], "Talk")
        XCTAssertFalse(media.exists("final.mp3"), "the child never publishes")
    }

    func testJobFromStdin() throws {
        let wav = try media.writeWAV("talk.wav", seconds: 1)
        let job = try Data(contentsOf: URL(fileURLWithPath: try jobFile(wav)))
        let run = try binary.run(["-", media.path("out.mp3")], stdin: job)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(run.last?["event"]?.stringValue, "result")
    }

    func testInvalidJobExits65() throws {
        let bad = media.path("bad.json")
        try Data(#"{"kind":"mp3","input":"talk.wav"}"#.utf8).write(to: URL(fileURLWithPath: bad))
        let run = try binary.run([bad, media.path("out.mp3")])
        assertError(run, code: "invalid-job", transient: false, status: 65)
        XCTAssertTrue(run.last?["message"]?.stringValue?.contains("bad.json") ?? false)
        XCTAssertFalse(media.exists("out.mp3"))

        let missing = try binary.run([media.path("nope.json"), media.path("out.mp3")])
        assertError(missing, code: "invalid-job", transient: false, status: 65)
    }

    func testBadInputExits1AndRemovesTheTemp() throws {
        let garbage = try media.writeGarbage("talk.wav")
        let run = try binary.run([try jobFile(garbage), media.path("out.mp3")])
        assertError(run, code: "invalid-media", transient: false, status: 1)
        XCTAssertEqual(run.last?["message"]?.stringValue, "could not open input '\(garbage)': Invalid data found when processing input")
        XCTAssertFalse(media.exists("out.mp3"))

        let wav = try media.writeWAV("short.wav", seconds: 2)
        let late = try binary.run([try jobFile(wav) { $0.start = 5 }, media.path("out.mp3")])
        assertError(late, code: "trim-out-of-range", transient: false, status: 1)
        XCTAssertEqual(late.last?["message"]?.stringValue, "start 5 s is beyond the end of input '\(wav)' (2 s long)")

        let film = media.path("film.mp4")
        try media.ffmpeg(["-f", "lavfi", "-i", "testsrc=d=1:s=160x120:r=25", "-c:v", "libx264", film])
        assertError(try binary.run([try jobFile(film), media.path("out.mp3")]), code: "no-audio", transient: false, status: 1)
        XCTAssertFalse(media.exists("out.mp3"))
    }

    func testExistingTempFileIsRefusedAndKept() throws {
        let wav = try media.writeWAV("talk.wav", seconds: 1)
        let temp = media.path("out.mp3")
        try Data("not yours".utf8).write(to: URL(fileURLWithPath: temp))
        let run = try binary.run([try jobFile(wav), temp])
        assertError(run, code: "io", transient: false, status: 1)
        XCTAssertTrue(run.last?["message"]?.stringValue?.contains("File exists") ?? false)
        XCTAssertEqual(try String(contentsOfFile: temp, encoding: .utf8), "not yours")
    }

    func testWriteFailureIsAnIOErrorAndRemovesTheTemp() throws {
        // A 30-second render is ~480 KB; a 64 KiB file size limit makes write(2) fail with EFBIG.
        let wav = try media.writeWAV("talk.wav", seconds: 30)
        let run = try binary.run([try jobFile(wav), media.path("out.mp3")], fileSizeLimitKiB: 64)
        assertError(run, code: "io", transient: false, status: 1)
        XCTAssertTrue(run.last?["message"]?.stringValue?.contains("File too large") ?? false, run.lines.last ?? "")
        XCTAssertFalse(media.exists("out.mp3"))
    }

    func testSIGTERMCancelsAndRemovesTheTemp() throws {
        let wav = media.path("long.wav")
        try media.ffmpeg(["-f", "lavfi", "-i", "sine=f=440:d=120:sample_rate=44100", "-ac", "2", wav])
        let run = try binary.run([try jobFile(wav), media.path("out.mp3")]) { process, _ in
            kill(process.processIdentifier, SIGTERM)
        }
        assertError(run, code: "cancelled", transient: true, status: 75)
        XCTAssertFalse(media.exists("out.mp3"))
    }

    func testFFmpegErrorsOnStderrCarryTheJobID() throws {
        // A WAV whose data ends in half a sample: the PCM decoder logs an error and the rest renders.
        let wav = try media.writeWAV("odd.wav", seconds: 1, extraDataBytes: 2)
        let run = try binary.run([try jobFile(wav), media.path("out.mp3")])
        XCTAssertEqual(run.status, 0)
        let lines = run.stderr.split(separator: "\n")
        XCTAssertFalse(lines.isEmpty, "the decoder's error is logged")
        for l in lines { XCTAssertTrue(l.hasPrefix("\(jobID): ["), String(l)) }
    }

    func testUsage() throws {
        let run = try binary.run([])
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("usage: exportctl-render [--check-first] JOBFILE TEMPFILE"), run.stderr)
        XCTAssertTrue(run.lines.isEmpty)
    }

    /// `--check-first` (what `exportctl render` runs): the submit-time media
    /// check, then the render, in one process. A refused job gets the check's
    /// error event, marked `"stage": "check"` with its field, exit 65 and no temp.
    func testCheckFirstRefusesWhatTheCheckRefusesAndRendersTheRest() throws {
        let wav = try media.writeWAV("talk.wav", seconds: 2)
        try media.ffmpeg(["-f", "lavfi", "-i", "color=red:s=160x120", "-frames:v", "1", media.path("red.png")])
        func mp4(start: Double?) throws -> String {
            try jobFile("") { j in
                j.kind = .mp4
                j.output = self.media.path("final.mp4")
                j.start = start
                j.mp4 = MP4Options(width: 160, height: 120, audio: wav, slides: [Slide(image: self.media.path("red.png"))], preset: "ultrafast")
            }
        }
        let refused = try binary.run(["--check-first", try mp4(start: 9), media.path("no.mp4")])
        assertError(refused, code: "invalid-job", transient: false, status: 65)
        XCTAssertEqual(refused.last?["stage"]?.stringValue, "check")
        XCTAssertEqual(refused.last?["field"]?.stringValue, "start")
        XCTAssertTrue(refused.lines.allSatisfy { !$0.contains("\"progress\"") }, "refused before rendering: \(refused.lines)")
        XCTAssertFalse(media.exists("no.mp4"))

        let temp = media.path("yes.mp4")
        let ok = try binary.run(["--check-first", try mp4(start: nil), temp])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(ok.last?["event"]?.stringValue, "result")
        XCTAssertEqual(ok.last?["duration"]?.doubleValue ?? 0, 2, accuracy: 1.0 / 30)
        XCTAssertTrue(media.exists("yes.mp4"))
    }
}
