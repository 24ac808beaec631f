import Foundation
import XCTest

/// A batch of jobs of every kind (mp3, mp4 slideshow, mp4 re-encode, carousel)
/// and the checks every fault test makes once the dust settles: each output
/// decodes whole at its final name, nothing partial, no temp, nothing left in
/// `running/` or `tmp/`, and exactly one whole analytics line per job.
struct FaultBatch {
    enum Kind: String, CaseIterable {
        case mp3, slideshow, reencode, carousel
    }

    struct Entry {
        var kind: Kind
        var file: String
        /// Relative to the harness directory.
        var output: String
    }

    let h: CLIHarness
    /// Where the outputs go, relative to the harness directory.
    let outDir: String
    /// The spool, relative to the harness directory.
    let spoolDir: String
    /// A verified output per kind that every output of that kind must equal byte
    /// for byte (when the renderer replays one render); the outputs are decoded when nil.
    var references: [Kind: String] = [:]

    static let toneSeconds = 3.0, clipSeconds = 2.0

    init(_ h: CLIHarness, outDir: String = "out", spoolDir: String = "spool") {
        self.h = h
        self.outDir = outDir
        self.spoolDir = spoolDir
    }

    /// Makes the small inputs every kind reads (a tone, a still, a clip, a photo).
    func makeInputs() throws {
        try h.makeTone("tone.wav", seconds: FaultBatch.toneSeconds)
        try h.makeMedia("cover.png", ["-f", "lavfi", "-i", "color=orange:s=400x300", "-frames:v", "1"])
        try h.makeMedia("photo.jpg", ["-f", "lavfi", "-i", "testsrc2=s=640x480", "-frames:v", "1"])
        try h.makeMedia("clip.mp4", ["-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=\(FaultBatch.clipSeconds)", "-f", "lavfi", "-i",
                                     "sine=d=\(FaultBatch.clipSeconds)", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                                     "-c:a", "aac", "-shortest"])
    }

    /// Writes `count` job files cycling through the kinds; job `i` writes `OUT/oI.ext`.
    func writeJobs(_ count: Int, kinds: [Kind] = Kind.allCases, prefix: String = "j") throws -> [Entry] {
        try (0..<count).map { i in
            let kind = kinds[i % kinds.count]
            let out: String, json: String
            switch kind {
            case .mp3:
                out = "\(outDir)/o\(i).mp3"
                json = #"{"kind":"mp3","input":"tone.wav","output":"\#(out)"}"#
            case .slideshow:
                out = "\(outDir)/o\(i).mp4"
                json = #"{"kind":"mp4","output":"\#(out)","width":320,"height":240,"fps":15,"audio":"tone.wav","slides":[{"image":"cover.png","fit":"cover","text":"Slide \#(i)"}],"preset":"ultrafast"}"#
            case .reencode:
                out = "\(outDir)/o\(i).mp4"
                json = #"{"kind":"mp4","input":"clip.mp4","output":"\#(out)","width":160,"height":160,"fit":"contain","preset":"ultrafast"}"#
            case .carousel:
                out = "\(outDir)/o\(i)"
                json = #"{"kind":"carousel","output":"\#(out)","width":320,"height":400,"format":"png","pageNumbers":true,"slides":[{"image":"photo.jpg","fit":"cover"},{"text":"Job \#(i) survives"},{"image":"cover.png","text":"Over an image","textPosition":"bottom"}]}"#
            }
            return Entry(kind: kind, file: try h.writeJob("\(prefix)\(i).json", json), output: out)
        }
    }

    /// Runs a command and returns its exit status and stderr.
    private func run(_ tool: String, _ args: [String]) throws -> (Int32, String) {
        try CLIHarness.runTool(tool, args)
    }

    /// The ffmpeg CLI decodes every stream of `file` with no error (`-xerror`).
    private func decodesCleanly(_ file: String) throws -> String? {
        let (status, err) = try run("/usr/bin/ffmpeg", ["-nostdin", "-v", "error", "-xerror", "-i", file, "-f", "null", "-"])
        return status == 0 && err.isEmpty ? nil : "ffmpeg cannot decode \(file) cleanly (exit \(status)): \(err)"
    }

    /// ffprobe's `KEY=VALUE` lines for `entries`.
    private func probe(_ file: String, _ entries: String) throws -> [(String, String)] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffprobe")
        p.arguments = ["-v", "error", "-show_entries", entries, "-of", "default=nw=1", file]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { l in
            let kv = l.split(separator: "=", maxSplits: 1).map(String.init)
            return kv.count == 2 ? (kv[0], kv[1]) : nil
        }
    }

    /// Why the output of `e` is not whole, or nil when it is: the right streams,
    /// size and duration, and every frame decodes.
    func problem(with e: Entry) throws -> String? {
        let path = h.path(e.output)
        guard FileManager.default.fileExists(atPath: path) else { return "\(e.output) is missing" }
        if let reference = references[e.kind] { return try sameBytes(path, reference) ? nil : "\(e.output) differs from \(reference)" }
        switch e.kind {
        case .mp3:
            let p = try h.probe(path)
            if p.codec != "mp3" || abs(p.duration - FaultBatch.toneSeconds) > 1152.0 / 44100 {
                return "\(e.output): \(p.codec), \(p.duration) s decoded of \(FaultBatch.toneSeconds)"
            }
            return try decodesCleanly(path)
        case .slideshow, .reencode:
            let f = try probe(path, "stream=codec_name,width,height:format=duration")
            let codecs = f.filter { $0.0 == "codec_name" }.map(\.1)
            let size = f.filter { $0.0 == "width" || $0.0 == "height" }.map(\.1)
            let duration = Double(f.first { $0.0 == "duration" }?.1 ?? "") ?? 0
            let want = e.kind == .slideshow ? (["320", "240"], FaultBatch.toneSeconds) : (["160", "160"], FaultBatch.clipSeconds)
            if codecs != ["h264", "aac"] || size != want.0 || abs(duration - want.1) > 0.1 {
                return "\(e.output): streams \(codecs), size \(size), \(duration) s (want \(want.0), \(want.1) s)"
            }
            return try decodesCleanly(path)
        case .carousel:
            let names = h.files(in: e.output)
            if names != ["01.png", "02.png", "03.png", "manifest.json"] { return "\(e.output) holds \(names)" }
            let m = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + "/manifest.json"))) as? [String: Any]
            guard let slides = m?["slides"] as? [[String: Any]], slides.count == 3 else { return "\(e.output)/manifest.json lists no 3 slides: \(String(describing: m))" }
            for n in ["01", "02", "03"] {
                let size = try probe(path + "/\(n).png", "stream=width,height").map(\.1)
                if size != ["320", "400"] { return "\(e.output)/\(n).png is \(size), not 320x400" }
                if let p = try decodesCleanly(path + "/\(n).png") { return p }
            }
            let bytes = slides.compactMap { $0["bytes"] as? Int }
            let onDisk = try ["01", "02", "03"].map { try FileManager.default.attributesOfItem(atPath: path + "/\($0).png")[.size] as? Int ?? -1 }
            if bytes != onDisk { return "\(e.output): the manifest says \(bytes) bytes, the files have \(onDisk)" }
            return nil
        }
    }

    /// Whether two files, or two folders of files, hold the same bytes.
    private func sameBytes(_ a: String, _ b: String) throws -> Bool {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: a, isDirectory: &isDir) else { return false }
        if !isDir.boolValue { return try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)) }
        let names = try FileManager.default.contentsOfDirectory(atPath: a).sorted()
        guard names == (try FileManager.default.contentsOfDirectory(atPath: b).sorted()) else { return false }
        return try names.allSatisfy { try sameBytes(a + "/" + $0, b + "/" + $0) }
    }

    /// Every job completed, every output whole, nothing stuck, no temp, one log line per job.
    /// `context` (what was done to the spool) starts every failure message.
    func assertAllCompletedAndWhole(_ entries: [Entry], ids: [String], _ context: String = "",
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let c = context.isEmpty ? "" : context + ": "
        XCTAssertEqual(entries.count, ids.count, file: file, line: line)
        let w = try h.run(["wait", "--timeout", "10"] + ids)
        XCTAssertEqual(w.status, 0, "\(c)every job completed: \(w.stdout)\(w.stderr)", file: file, line: line)
        for d in ["running", "queue", "tmp"] {
            XCTAssertEqual(h.files(in: "\(spoolDir)/\(d)"), [], "\(c)\(spoolDir)/\(d)/ is empty", file: file, line: line)
        }
        XCTAssertEqual(h.files(in: "\(spoolDir)/done").count, ids.count, "\(c)all in done/", file: file, line: line)
        let names = Set(entries.map { String($0.output.split(separator: "/").last!) })
        XCTAssertEqual(Set(h.files(in: outDir)), names, "\(c)no temp or stray file beside the outputs", file: file, line: line)
        for e in entries {
            if let p = try problem(with: e) { XCTFail(c + p, file: file, line: line) }
        }
        guard let log = try? String(contentsOfFile: h.path("\(spoolDir)/analytics.jsonl"), encoding: .utf8) else {
            return XCTFail("\(c)no analytics log", file: file, line: line)
        }
        XCTAssertTrue(log.hasSuffix("\n"), "\(c)no torn last line", file: file, line: line)
        let lines = log.split(separator: "\n")
        let logged = lines.map { (try? h.json(String($0)))?["id"] as? String ?? "torn: \($0)" }
        XCTAssertEqual(logged.count, ids.count, "\(c)one line per job", file: file, line: line)
        XCTAssertEqual(Set(logged), Set(ids), "\(c)one whole line for each job", file: file, line: line)
    }
}
