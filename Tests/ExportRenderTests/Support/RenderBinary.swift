import ExportCore
import Foundation
import XCTest

/// The built `exportctl-render`, run as the daemon runs it.
struct RenderBinary {
    let path: String

    /// `$EXPORTCTL_RENDERER`, else beside the test bundle (`.build/<triple>/debug`),
    /// else `.build/debug` of this package; skips the test when it is not built.
    static func locate() throws -> RenderBinary {
        var candidates: [String] = []
        if let e = ProcessInfo.processInfo.environment["EXPORTCTL_RENDERER"], !e.isEmpty { candidates.append(e) }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            // The xctest bundle sits in the build directory with the products.
            var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
            if dir.lastPathComponent == "MacOS" || dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
            candidates.append(dir.appendingPathComponent("exportctl-render").path)
        }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(package.appendingPathComponent(".build/debug/exportctl-render").path)
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("exportctl-render is not built (swift build --product exportctl-render); looked at \(candidates)")
        }
        return RenderBinary(path: found)
    }

    struct Run {
        var status: Int32
        var lines: [String]
        var stderr: String
        /// Every stdout line as JSON (fails the test on a line that is not).
        func events(file: StaticString = #filePath, line: UInt = #line) -> [JSONValue] {
            lines.compactMap { text in
                do { return try JSONParser.parse(text) } catch {
                    XCTFail("not a JSON line: \(text)", file: file, line: line)
                    return nil
                }
            }
        }
        var last: JSONValue? { lines.last.flatMap { try? JSONParser.parse($0) } }
    }

    /// Runs `exportctl-render ARGS` (through `/bin/sh -c 'ulimit -f N; exec …'` when `fileSizeLimitKiB` is set).
    func run(_ args: [String], stdin: Data? = nil, fileSizeLimitKiB: Int? = nil,
             whenStarted: ((Process, FileHandle) -> Void)? = nil) throws -> Run {
        let p = Process()
        if let limit = fileSizeLimitKiB {
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "ulimit -f \(limit) && exec \"$0\" \"$@\"", path] + args
        } else {
            p.executableURL = URL(fileURLWithPath: path)
            p.arguments = args
        }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(stdin) }
        try inp.fileHandleForWriting.close()
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        var outData = Data()
        if let whenStarted {
            // Hand over after the first line: the child's signal handlers are installed by then.
            while !outData.contains(0x0a) {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                outData += chunk
            }
            whenStarted(p, out.fileHandleForReading)
        }
        outData += out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        let text = String(decoding: outData, as: UTF8.self)
        XCTAssertTrue(text.isEmpty || text.hasSuffix("\n"), "every event line ends with a newline")
        return Run(status: p.terminationStatus, lines: text.split(separator: "\n").map(String.init),
                   stderr: String(decoding: errData, as: UTF8.self))
    }
}
