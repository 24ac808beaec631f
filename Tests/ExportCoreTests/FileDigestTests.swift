@testable import ExportCore
import Foundation
import XCTest

/// The streaming file hash `--dedupe` uses agrees with sha256sum and with the in-memory hash.
final class FileDigestTests: XCTestCase {
    func testFileHashMatchesSha256sumAcrossBlockBoundaries() throws {
        let path = NSTemporaryDirectory() + "exportctl-digest-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: path) }
        for size in [0, 55, 64, (1 << 20) + 100] {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            p.arguments = [path]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            let hex = try SHA256.hexOfFile(path)
            XCTAssertEqual(hex, String(text.prefix(64)), "size \(size)")
            XCTAssertEqual(hex, SHA256.hex(SHA256.hash(bytes)), "size \(size)")
        }
    }
}
