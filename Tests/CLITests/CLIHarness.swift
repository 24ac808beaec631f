import Foundation
import XCTest

/// Runs the built `exportctl` binaries in a scratch directory with their own spool.
final class CLIHarness {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    /// The products sit beside the test runner (`.build/debug/exportctlPackageTests.xctest`).
    static let binDir = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
        .deletingLastPathComponent()
    static var exportctl: String { binDir.appendingPathComponent("exportctl").path }

    let dir: URL
    var spool: String { dir.appendingPathComponent("spool").path }
    private var daemons: [Process] = []

    /// A scratch directory; skips the test when the binaries it needs are not built.
    init(needsRenderer: Bool = false) throws {
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("exportctl-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("out"), withIntermediateDirectories: true)
        guard FileManager.default.isExecutableFile(atPath: CLIHarness.exportctl) else {
            throw XCTSkip("build the binaries first (swift build): \(CLIHarness.exportctl) is missing")
        }
        if needsRenderer && !FileManager.default.isExecutableFile(atPath: CLIHarness.binDir.appendingPathComponent("exportctl-render").path) {
            throw XCTSkip("exportctl-render is not built")
        }
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Extra environment for the commands (e.g. a fake EXPORTCTL_RENDERER).
    var extraEnvironment: [String: String] = [:]

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["EXPORTCTL_SPOOL"] = spool
        env.removeValue(forKey: "EXPORTCTL_RENDERER")
        env.merge(extraEnvironment) { $1 }
        return env
    }

    /// Runs a tool (mount, mkfs, xfs_io, ffmpeg…) to completion; its exit status and stderr.
    @discardableResult
    static func runTool(_ path: String, _ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Runs `exportctl ARGS` to completion in the scratch directory; with `under`,
    /// as `WRAPPER… exportctl ARGS` (strace, GNU time), its status the wrapper's.
    @discardableResult
    func run(_ args: [String], stdin: String? = nil, under wrapper: [String] = []) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: wrapper.first ?? CLIHarness.exportctl)
        p.arguments = wrapper.isEmpty ? args : wrapper.dropFirst() + [CLIHarness.exportctl] + args
        p.currentDirectoryURL = dir
        p.environment = environment
        // Output goes to files, so a chatty child never blocks on a full pipe.
        let tag = UUID().uuidString.prefix(8)
        let outURL = dir.appendingPathComponent(".stdout-\(tag)"), errURL = dir.appendingPathComponent(".stderr-\(tag)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        let inp = Pipe()
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inp.fileHandleForWriting.close()
        p.waitUntilExit()
        let outData = try Data(contentsOf: outURL), errData = try Data(contentsOf: errURL)
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Starts `exportctl daemon` in the background; stopped in `stopAll`.
    func startDaemon(_ extra: [String] = [], stderr: URL? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLIHarness.exportctl)
        p.arguments = ["daemon"] + extra
        p.currentDirectoryURL = dir
        p.environment = environment
        p.standardOutput = FileHandle.nullDevice
        if let stderr {
            FileManager.default.createFile(atPath: stderr.path, contents: nil)
            p.standardError = try FileHandle(forWritingTo: stderr)
        } else {
            p.standardError = FileHandle.nullDevice
        }
        try p.run()
        daemons.append(p)
        return p
    }

    func stopAll() {
        for d in daemons where d.isRunning { d.terminate(); d.waitUntilExit() }
        daemons.removeAll()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Writes a job file and returns its name.
    @discardableResult
    func writeJob(_ name: String, _ json: String) throws -> String {
        try json.write(toFile: path(name), atomically: true, encoding: .utf8)
        return name
    }

    /// Makes a test input with the ffmpeg CLI (lavfi sources).
    func makeMedia(_ name: String, _ ffmpegArgs: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-nostdin", "-loglevel", "error", "-y"] + ffmpegArgs + [path(name)]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "ffmpeg could not make \(name)")
    }

    /// A sine tone WAV of `seconds`.
    func makeTone(_ name: String, seconds: Double, rate: Int = 44100, channels: Int = 2) throws {
        try makeMedia(name, ["-f", "lavfi", "-i", "sine=f=440:d=\(seconds):sample_rate=\(rate)", "-ac", "\(channels)"])
    }

    /// ffprobe's view of a file (codec, sample rate, channels) and its duration
    /// as decoded by the ffmpeg CLI: gapless trimming applied, as a player hears it
    /// (ffprobe's container duration of an mp3 includes the encoder's padding).
    func probe(_ file: String) throws -> (codec: String, rate: Int, channels: Int, duration: Double) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        p.arguments = ["-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name,sample_rate,channels:format=duration", "-of", "default=nw=1", file]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        var f: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let kv = line.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { f[String(kv[0])] = String(kv[1]) }
        }
        let rate = Int(f["sample_rate"] ?? "") ?? 0
        return (f["codec_name"] ?? "", rate, Int(f["channels"] ?? "") ?? 0, try decodedSeconds(file, rate: rate))
    }

    /// Seconds of audio the ffmpeg CLI decodes from `file` (mono 16-bit at `rate`).
    func decodedSeconds(_ file: String, rate: Int) throws -> Double {
        guard rate > 0 else { return -1 }
        let pcm = dir.appendingPathComponent(".decoded-\(UUID().uuidString.prefix(8)).pcm")
        defer { try? FileManager.default.removeItem(at: pcm) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-nostdin", "-loglevel", "error", "-i", file, "-map", "0:a:0", "-ac", "1", "-ar", "\(rate)", "-f", "s16le", "-y", pcm.path]
        try p.run()
        p.waitUntilExit()
        let bytes = (try FileManager.default.attributesOfItem(atPath: pcm.path)[.size] as? Int) ?? 0
        return Double(bytes) / 2 / Double(rate)
    }

    /// Parses one JSON line of output.
    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// Polls `status --json` until `condition` holds or `timeout` passes.
    func waitFor(_ id: String, timeout: Double = 30, _ condition: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            let r = try run(["status", "--json", id])
            if r.status == 0, let j = try? json(r.stdout) { last = j; if condition(j) { return j } }
            usleep(20_000)
        }
        XCTFail("timed out waiting on \(id); last status \(last)")
        return last
    }

    func files(in sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(sub).path)) ?? [])
            .filter { !$0.hasPrefix(".stdout-") && !$0.hasPrefix(".stderr-") && !$0.hasPrefix(".decoded-") }.sorted()
    }
}
