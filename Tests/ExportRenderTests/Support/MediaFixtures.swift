import Foundation
import XCTest

/// A scratch directory with generated media, and the ffmpeg / ffprobe CLIs
/// as an independent reference to check outputs against.
final class MediaFixtures {
    let dir: String

    init() throws {
        // Jobs hold normalised absolute paths: no "//" from a TMPDIR ending in "/".
        let tmp = URL(fileURLWithPath: NSTemporaryDirectory()).standardizedFileURL.path
        var template = Array((tmp + "/exportrender-XXXXXX").utf8CString)
        guard let p = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        dir = String(cString: p)
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    func path(_ name: String) -> String { dir + "/" + name }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    // MARK: - Generated media

    /// Writes a 16-bit PCM WAV of a sine at `frequency` (switching to
    /// `switchTo.frequency` at `switchTo.seconds`, phase-continuous), the same in every channel.
    @discardableResult
    func writeWAV(_ name: String, seconds: Double, sampleRate: Int = 44100, channels: Int = 2,
                  frequency: Double = 440, switchTo: (frequency: Double, seconds: Double)? = nil,
                  extraDataBytes: Int = 0) throws -> String {
        let frames = Int((seconds * Double(sampleRate)).rounded())
        var data = [UInt8]()
        data.reserveCapacity(frames * channels * 2 + extraDataBytes)
        var phase = 0.0
        for i in 0..<frames {
            let t = Double(i) / Double(sampleRate)
            let f = switchTo.map { t >= $0.seconds ? $0.frequency : frequency } ?? frequency
            let v = Int16((sin(phase) * 0.5 * 32767).rounded())
            phase += 2 * Double.pi * f / Double(sampleRate)
            if phase > 2 * Double.pi { phase -= 2 * Double.pi }
            for _ in 0..<channels { data += [UInt8(truncatingIfNeeded: v), UInt8(truncatingIfNeeded: v >> 8)] }
        }
        data += [UInt8](repeating: 0, count: extraDataBytes)
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        var file = Array("RIFF".utf8) + le32(36 + data.count) + Array("WAVE".utf8)
        file += Array("fmt ".utf8) + le32(16) + le16(1) + le16(channels) + le32(sampleRate)
        file += le32(sampleRate * channels * 2) + le16(channels * 2) + le16(16)
        file += Array("data".utf8) + le32(data.count) + data
        try Data(file).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    /// Bytes that are no media file: text, or random bytes (which FFmpeg
    /// sometimes half-recognises, e.g. as MP3 with a low probe score).
    @discardableResult
    func writeGarbage(_ name: String, bytes: Int = 8192, random: Bool = false) throws -> String {
        var g = SystemRandomNumberGenerator()
        let text = Array("This is not audio, just a text file named like one.\n".utf8)
        let data = random ? (0..<bytes).map { _ in UInt8.random(in: 0...255, using: &g) } : (0..<bytes).map { text[$0 % text.count] }
        try Data(data).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    /// The first `bytes` of `source`, as a truncated copy.
    @discardableResult
    func truncatedCopy(of source: String, to name: String, bytes: Int) throws -> String {
        let d = try Data(contentsOf: URL(fileURLWithPath: source))
        try d.prefix(bytes).write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    // MARK: - ffmpeg / ffprobe

    static let ffmpegPath = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let ffprobePath = ["/usr/bin/ffprobe", "/usr/local/bin/ffprobe"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs a program and returns its exit status and stdout (stderr is collected and reported on failure).
    static func run(_ program: String, _ args: [String]) throws -> (status: Int32, stdout: Data, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: program)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        // Drain stderr on another thread so neither pipe fills up.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return (p.terminationStatus, outData, String(decoding: errData, as: UTF8.self))
    }

    /// `ffmpeg -nostdin -v error -y ARGS` in the scratch directory; throws on failure, skips without ffmpeg.
    func ffmpeg(_ args: [String]) throws {
        guard let ffmpeg = MediaFixtures.ffmpegPath else { throw XCTSkip("the ffmpeg CLI is not installed") }
        let r = try MediaFixtures.run(ffmpeg, ["-nostdin", "-v", "error", "-y"] + args)
        guard r.status == 0 else { throw FixtureError("ffmpeg \(args.joined(separator: " ")) failed: \(r.stderr)") }
    }

    /// Decodes `file` fully with the ffmpeg CLI to 16-bit mono at its own rate: what a player plays.
    func decodeMono(_ file: String) throws -> [Int16] {
        guard let ffmpeg = MediaFixtures.ffmpegPath else { throw XCTSkip("the ffmpeg CLI is not installed") }
        let r = try MediaFixtures.run(ffmpeg, ["-nostdin", "-v", "error", "-i", file, "-ac", "1", "-f", "s16le", "-"])
        guard r.status == 0 else { throw FixtureError("decoding \(file) failed: \(r.stderr)") }
        return r.stdout.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
    }

    /// Decodes `file` fully with the ffmpeg CLI keeping its channels; the raw bytes (for exact comparisons).
    func decodeRaw(_ file: String) throws -> Data {
        guard let ffmpeg = MediaFixtures.ffmpegPath else { throw XCTSkip("the ffmpeg CLI is not installed") }
        let r = try MediaFixtures.run(ffmpeg, ["-nostdin", "-v", "error", "-i", file, "-f", "s16le", "-"])
        guard r.status == 0 else { throw FixtureError("decoding \(file) failed: \(r.stderr)") }
        return r.stdout
    }

    /// ffprobe's view of the first audio stream and the container tags.
    struct Probe {
        var codec: String
        var sampleRate: Int
        var channels: Int
        var streams: Int
        var tags: [String: String]
    }

    func probe(_ file: String) throws -> Probe {
        guard let ffprobe = MediaFixtures.ffprobePath else { throw XCTSkip("ffprobe is not installed") }
        let r = try MediaFixtures.run(ffprobe, ["-v", "error", "-show_entries",
                                                "stream=codec_name,codec_type,sample_rate,channels:format_tags",
                                                "-of", "default=nw=1", file])
        guard r.status == 0 else { throw FixtureError("ffprobe \(file) failed: \(r.stderr)") }
        var p = Probe(codec: "", sampleRate: 0, channels: 0, streams: 0, tags: [:])
        for line in String(decoding: r.stdout, as: UTF8.self).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq]), value = String(line[line.index(after: eq)...])
            switch key {
            case "codec_name": if p.codec.isEmpty { p.codec = value }
            case "codec_type": p.streams += 1
            case "sample_rate": if p.sampleRate == 0 { p.sampleRate = Int(value) ?? 0 }
            case "channels": if p.channels == 0 { p.channels = Int(value) ?? 0 }
            default:
                if key.hasPrefix("TAG:") { p.tags[String(key.dropFirst(4))] = value }
            }
        }
        return p
    }

    /// Power of `frequency` in `samples` (Goertzel).
    static func power(of frequency: Double, in samples: ArraySlice<Int16>, sampleRate: Int) -> Double {
        let w = 2 * Double.pi * frequency / Double(sampleRate)
        let c = 2 * cos(w)
        var s1 = 0.0, s2 = 0.0
        for x in samples {
            let s0 = Double(x) + c * s1 - s2
            s2 = s1
            s1 = s0
        }
        return s1 * s1 + s2 * s2 - c * s1 * s2
    }
}

struct FixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
