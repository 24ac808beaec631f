import Foundation
import XCTest

/// Stand-in renderers (EXPORTCTL_RENDERER) for tests of the queue, where
/// what is rendered does not matter: a shell script given the job file ($1)
/// and the temp output ($2).
extension CLIHarness {
    /// Installs a renderer that logs `JOBID START-TIME` to `renders`, runs
    /// `before` (which may fail or sleep; `$n` is this job's attempt number),
    /// then writes a 3-byte output and a result event.
    func installFakeRenderer(before: String = "") throws {
        let script = """
        #!/bin/sh
        id=$(basename "$1" .json)
        n=$(cat "\(path("attempts"))/$id" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "\(path("attempts"))/$id"
        echo "$id $(date +%s.%N)" >> "\(path("renders"))"
        \(before)
        printf 'ID3' > "$2"
        echo '{"event":"result","duration":1.0,"bytes":3,"mediaSeconds":1.0,"codec":"mp3"}'
        """
        try FileManager.default.createDirectory(atPath: path("attempts"), withIntermediateDirectories: true)
        try script.write(toFile: path("fake-render"), atomically: true, encoding: .utf8)
        chmod(path("fake-render"), 0o755)
        extraEnvironment["EXPORTCTL_RENDERER"] = path("fake-render")
        if !FileManager.default.fileExists(atPath: path("in.wav")) {
            try "not really audio".write(toFile: path("in.wav"), atomically: true, encoding: .utf8)
        }
    }

    /// The job ids the fake renderer was started on, in order (one per attempt).
    func renders() -> [(id: String, at: Double)] {
        ((try? String(contentsOfFile: path("renders"), encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 2, let t = Double(f[1]) else { return nil }
            return (String(f[0]), t)
        }
    }

    /// Submits one mp3 job of in.wav with `extra` members (`"priority": 5`) and returns its id.
    func submitJob(_ extra: String = "", output: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let out = output ?? "out/\(UUID().uuidString.prefix(8)).mp3"
        let name = "job-\(UUID().uuidString.prefix(8)).json"
        try writeJob(name, #"{"kind":"mp3","input":"in.wav","output":"\#(out)""# + (extra.isEmpty ? "" : ", " + extra) + "}")
        let r = try run(["submit", name])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `status --json ID` parsed.
    func status(_ id: String) throws -> [String: Any] {
        try json(try run(["status", "--json", id]).stdout)
    }

    /// Waits until `condition` holds, polling every 20 ms; false after `timeout` seconds.
    func eventually(timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }
}
