import Foundation
import XCTest

/// `exportctl health`: each problem on a line of its own with the fix, exit 1;
/// a sound spool with a live daemon, exit 0.
final class HealthTests: XCTestCase {
    var h: CLIHarness!

    override func setUpWithError() throws {
        h = try CLIHarness(needsRenderer: true)
    }

    override func tearDown() { h?.stopAll() }

    private func checks(_ args: [String]) throws -> (status: Int32, checks: [[String: Any]]) {
        let r = try h.run(["health", "--json"] + args)
        let j = try h.json(r.stdout)
        XCTAssertEqual(j["ok"] as? Bool, r.status == 0, r.stdout)
        return (r.status, try XCTUnwrap(j["checks"] as? [[String: Any]]))
    }

    func testProblemsAreNamedWithTheirFix() throws {
        let none = try h.run(["health"])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stdout.hasPrefix("spool: there is no spool at \(h.spool); fix: create it by starting the daemon once"), none.stdout)

        try h.writeSettings(#"{"fonts": ["No Such Family Anywhere"]}"#)
        _ = try h.run(["daemon", "--once"])  // creates the layout
        chmod(h.spool + "/queue", 0o755)
        // A render program whose FFmpeg lacks libx264.
        let fake = """
        #!/bin/sh
        [ "$1" = --check-system ] || exit 64
        echo '{"event":"system","encoders":{"libmp3lame":true,"aac":true,"libx264":false,"png":true,"mjpeg":true,"libwebp":true},"muxers":{"mp3":true,"mp4":true},"fonts":{"DejaVu Sans":true,"No Such Family Anywhere":false}}'
        """
        try fake.write(toFile: h.path("fake-render"), atomically: true, encoding: .utf8)
        chmod(h.path("fake-render"), 0o755)
        h.extraEnvironment["EXPORTCTL_RENDERER"] = h.path("fake-render")

        let r = try h.run(["health", "--min-free-mb", "999999999"])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        let lines = r.lines
        XCTAssertEqual(lines.last, "\(h.spool): 5 problems", r.stdout)
        func line(_ prefix: String) -> String { lines.first { $0.hasPrefix(prefix) } ?? "(no line starting \(prefix))" }
        XCTAssertEqual(line("spool:"), "spool: \(h.spool)/queue has mode 755, which lets others in; fix: chmod 700 \(h.spool)/queue (or exportctl fsck --repair, with no daemon running)")
        XCTAssertTrue(line("daemon:").hasSuffix("; fix: start it: systemctl start exportctl, or exportctl --spool \(h.spool) daemon"), line("daemon:"))
        XCTAssertTrue(line("disk:").contains("less than 999999999 MB; fix: free space there (df \(h.spool))"), line("disk:"))
        XCTAssertEqual(line("encoders:"), "encoders: FFmpeg has no libx264 encoder, needed for mp4 video; fix: install an FFmpeg built with it (Debian 12: apt-get install libavcodec59 libavformat59, which have every one)")
        XCTAssertTrue(line("fonts:").hasPrefix("fonts: font 'No Such Family Anywhere' is not installed, but settings.json names it in fonts; fix: install it"), line("fonts:"))

        h.extraEnvironment["EXPORTCTL_RENDERER"] = h.path("no-such-renderer")
        let missing = try h.run(["health", "--no-daemon", "--min-free-mb", "0"])
        XCTAssertTrue(missing.stdout.contains("renderer: the render program \(h.path("no-such-renderer")) cannot be run: No such file or directory; fix: reinstall"), missing.stdout)

        // Fixed: the real renderer (FFmpeg and fontconfig asked for real), no bad mode, fonts that exist.
        h.extraEnvironment.removeValue(forKey: "EXPORTCTL_RENDERER")
        chmod(h.spool + "/queue", 0o700)
        try h.writeSettings(#"{"fonts": ["DejaVu Sans"]}"#)
        let fixed = try checks(["--no-daemon", "--min-free-mb", "1"])
        XCTAssertEqual(fixed.status, 0, "\(fixed.checks)")
        XCTAssertEqual(Set(fixed.checks.compactMap { $0["check"] as? String }), ["spool", "settings", "daemon", "disk", "renderer", "encoders", "fonts"])
    }

    func testHealthyWithALiveDaemon() throws {
        try h.writeSettings("{}")
        let daemon = try h.startDaemon()
        let deadline = Date().addingTimeInterval(5)
        while !((try? String(contentsOfFile: h.spool + "/daemon.lock", encoding: .utf8)) ?? "").hasPrefix("\(daemon.processIdentifier)") && Date() < deadline { usleep(20_000) }
        let r = try h.run(["health", "--min-free-mb", "1"])
        XCTAssertEqual(r.status, 0, r.stdout)
        XCTAssertTrue(r.stdout.contains("ok  daemon: a daemon holds \(h.spool)/daemon.lock (pid \(daemon.processIdentifier), alive)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("ok  encoders: libmp3lame, aac, libx264, png, mjpeg, libwebp encoders; mp3, mp4 muxers"), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("\(h.spool): healthy\n"), r.stdout)
        daemon.terminate(); daemon.waitUntilExit()
        let after = try checks(["--min-free-mb", "1"])
        XCTAssertEqual(after.status, 1)
        XCTAssertEqual(after.checks.filter { $0["ok"] as? Bool == false }.compactMap { $0["check"] as? String }, ["daemon"])
    }
}
