import Foundation
import XCTest

/// Pieces shared by the hook, webhook and event tests: a stand-in renderer,
/// background `exportctl` processes and a webhook receiver on loopback.
extension CLIHarness {
    /// A renderer that takes a few progress steps, then succeeds, unless the
    /// job's output name contains "fail" (a permanent error) .
    func installStepRenderer(steps: Int = 2, stepSeconds: Double = 0.05) throws {
        let script = """
        #!/bin/sh
        case "$2" in *fail*) echo '{"event":"error","code":"invalid-media","message":"fake: this input is broken"}'; exit 65;; esac
        i=1
        while [ $i -le \(steps) ]; do
          echo "{\\"event\\":\\"progress\\",\\"progress\\":$(awk "BEGIN{print $i/\(steps + 1)}"),\\"stage\\":\\"encoding\\"}"
          sleep \(stepSeconds); i=$((i+1))
        done
        printf 'ID3fake' > "$2"
        echo '{"event":"result","duration":1.0,"bytes":7,"mediaSeconds":1.0,"codec":"mp3"}'
        """
        try script.write(toFile: path("fake-render"), atomically: true, encoding: .utf8)
        chmod(path("fake-render"), 0o755)
        extraEnvironment["EXPORTCTL_RENDERER"] = path("fake-render")
        if !FileManager.default.fileExists(atPath: path("in.wav")) {
            try "not really audio".write(toFile: path("in.wav"), atomically: true, encoding: .utf8)
        }
    }

    /// Submits one mp3 job with `extra` JSON members (`"hooks": …`), returning its id.
    func submitNotifyJob(output: String, extra: String = "") throws -> String {
        let name = "job-\(UUID().uuidString.prefix(6)).json"
        try writeJob(name, #"{"kind":"mp3","input":"in.wav","output":"out/\#(output)""# + (extra.isEmpty ? "" : ", " + extra) + "}")
        let r = try run(["submit", name])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts `exportctl ARGS` in the background with stdout into `stdoutFile`.
    func startBackground(_ args: [String], stdoutFile: String, stderrFile: String? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLIHarness.exportctl)
        p.arguments = args
        p.currentDirectoryURL = dir
        p.environment = environment
        FileManager.default.createFile(atPath: stdoutFile, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutFile))
        if let stderrFile {
            FileManager.default.createFile(atPath: stderrFile, contents: nil)
            p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrFile))
        } else {
            p.standardError = FileHandle.nullDevice
        }
        try p.run()
        return p
    }

    /// The JSON lines of a file (unparsable lines fail the test).
    func jsonLines(_ file: String) throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try json(String($0)) }
    }

    /// Polls until `condition` holds, failing the test after `timeout` seconds.
    func waitUntil(_ what: String, timeout: Double = 15, _ condition: () throws -> Bool) rethrows {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(20_000)
        }
        XCTFail("timed out waiting for \(what)")
    }
}

/// A webhook receiver in python3 on 127.0.0.1 that checks each request's
/// X-Exportctl-Signature with the secret and logs what it got, one JSON line per request.
final class WebhookReceiver {
    let log: String
    let process: Process
    let port: Int

    static let script = #"""
    import hashlib, hmac, http.server, json, os, ssl, sys
    portfile, secret, fail_first, log = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4]
    count = 0
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            global count
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            valid = hmac.compare_digest(self.headers.get("X-Exportctl-Signature", ""), expected)
            count += 1
            code = (503 if fail_first < 0 or count <= fail_first else 200) if valid else 401
            with open(log, "a") as f:
                f.write(json.dumps({"n": count, "valid": valid, "code": code, "path": self.path,
                                    "delivery": self.headers.get("X-Exportctl-Delivery"),
                                    "timestamp": self.headers.get("X-Exportctl-Timestamp"),
                                    "event": self.headers.get("X-Exportctl-Event"),
                                    "contentType": self.headers.get("Content-Type"),
                                    "body": json.loads(body)}) + "\n")
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()
        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[5]) if len(sys.argv) > 5 else 0), Handler)
    if len(sys.argv) > 7:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[6], sys.argv[7])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    server.serve_forever()
    """#

    /// - Parameters:
    ///   - failFirst: answer 503 to this many requests before 200; -1 for always 503.
    ///   - port: 0 for any free port.
    ///   - tls: a certificate and key file to serve https with.
    init(in h: CLIHarness, secret: String, failFirst: Int = 0, port: Int = 0, tls: (cert: String, key: String)? = nil) throws {
        let tag = UUID().uuidString.prefix(6)
        let scriptPath = h.path("receiver-\(tag).py"), portFile = h.path("receiver-\(tag).port")
        log = h.path("receiver-\(tag).log")
        try WebhookReceiver.script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        guard let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: { FileManager.default.isExecutableFile(atPath: $0) })
            ?? Self.which("python3") else { throw XCTSkip("python3 is not installed") }
        process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [scriptPath, portFile, secret, String(failFirst), log, String(port)] + (tls.map { [$0.cert, $0.key] } ?? [])
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !FileManager.default.fileExists(atPath: portFile) && Date() < deadline && process.isRunning { usleep(20_000) }
        guard let text = try? String(contentsOfFile: portFile, encoding: .utf8), let p = Int(text) else {
            process.terminate()
            throw XCTSkip("the python3 webhook receiver did not start")
        }
        self.port = p
    }

    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// The requests received so far.
    func requests(_ h: CLIHarness) throws -> [[String: Any]] { try h.jsonLines(log) }

    func stop() {
        if process.isRunning { process.terminate(); process.waitUntilExit() }
    }
}
