import Foundation
import XCTest

/// A job's timeout is the render child's own deadline: the child's cancel
/// flag, which FFmpeg's `interrupt_callback` and the pipeline's loops read,
/// turns true at it, so an input that never ends (a WAV header claiming
/// hours, over a sparse file) stops on time by itself, its temp removed; the
/// daemon's kill a second later is only the backstop. A cancel stops the
/// same input at once.
final class DeadlineTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws { h = try CLIHarness(needsRenderer: true) }
    override func tearDown() { h?.stopAll() }

    /// A WAV whose header claims `bytes` of 44.1 kHz stereo PCM, as a sparse file of that size (silence, no disk used).
    private func endlessWAV(_ name: String, bytes: UInt32) throws {
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
        let header = Array("RIFF".utf8) + le32(bytes + 36) + Array("WAVEfmt ".utf8) + le32(16) + le16(1) + le16(2)
            + le32(44100) + le32(44100 * 4) + le16(4) + le16(16) + Array("data".utf8) + le32(bytes)
        FileManager.default.createFile(atPath: h.path(name), contents: Data(header))
        let fd = open(h.path(name), O_WRONLY)
        defer { close(fd) }
        XCTAssertEqual(ftruncate(fd, off_t(bytes) + 44), 0)
    }

    func testATimeoutStopsAnEndlessInputFromWithinTheRenderAndACancelAtOnce() throws {
        try endlessWAV("endless.wav", bytes: 2_000_000_000)  // 3 h 9 min of audio
        try h.writeJob("slow.json", #"{"kind":"mp3","input":"endless.wav","output":"out/slow.mp3","timeout":1}"#)
        try h.writeJob("cancel.json", #"{"kind":"mp3","input":"endless.wav","output":"out/cancel.mp3"}"#)
        let slow = try h.run(["submit", "slow.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let log = h.dir.appendingPathComponent("daemon.log")
        _ = try h.startDaemon(["--once"], stderr: log)

        let s = try h.waitFor(slow, timeout: 20) { ($0["state"] as? String) == "failed" }
        let error = s["error"] as? [String: Any]
        XCTAssertEqual(error?["code"] as? String, "timeout", "\(s)")
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let started = try XCTUnwrap((s["startedAt"] as? String).flatMap(iso.date(from:))), finished = try XCTUnwrap((s["finishedAt"] as? String).flatMap(iso.date(from:)))
        let ran = finished.timeIntervalSince(started)
        XCTAssertLessThan(ran, 1.9, "stopped at its 1 s deadline, before the daemon's kill at 2 s")
        XCTAssertGreaterThanOrEqual(ran, 0.9)
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertTrue(text.contains("\(slow) reached its deadline of 1 s: the render stopped itself"), text)
        XCTAssertEqual(h.files(in: "out"), [], "the temp output was removed")

        let cancel = try h.run(["submit", "cancel.json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try h.startDaemon([], stderr: h.dir.appendingPathComponent("daemon2.log"))
        _ = try h.waitFor(cancel) { ($0["state"] as? String) == "processing" && (($0["progress"] as? Double) ?? 0) > 0 }
        let asked = Date()
        XCTAssertEqual(try h.run(["cancel", cancel]).status, 0)
        let c = try h.waitFor(cancel, timeout: 5) { ($0["state"] as? String) == "cancelled" }
        XCTAssertEqual(c["state"] as? String, "cancelled")
        XCTAssertLessThan(Date().timeIntervalSince(asked), 2, "cancel stops the endless input at once")
        XCTAssertEqual(h.files(in: "out"), [], "no temp left")
    }
}
