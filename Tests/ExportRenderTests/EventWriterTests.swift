import ExportCore
@testable import ExportRender
import Glibc
import XCTest

final class EventWriterTests: XCTestCase {
    /// A clock the test moves by hand.
    final class FakeClock: @unchecked Sendable {
        var now = 100.0
    }

    /// Writes through a pipe and returns the lines.
    func capture(_ body: (EventWriter, FakeClock) -> Void) -> [String] {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let clock = FakeClock()
        let writer = EventWriter(fd: fds[1], interval: 0.25, clock: { clock.now })
        body(writer, clock)
        close(fds[1])
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fds[0], &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        close(fds[0])
        return String(decoding: out, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    func testProgressIsThrottledAndLinesAreJSON() throws {
        let lines = capture { w, clock in
            w.progress(0, stage: .probing)
            clock.now += 0.1
            w.progress(0.1, stage: .encoding)  // too soon
            clock.now += 0.2
            w.progress(0.42131, stage: .encoding)
            clock.now += 0.1
            w.progress(0.5, stage: .encoding)  // too soon
            clock.now += 0.3
            w.progress(1.7, stage: .verifying)
            w.error(.noAudio(path: "/in/talk.wav"))
        }
        XCTAssertEqual(lines.last, "", "every line ends with a newline")
        XCTAssertEqual(Array(lines.dropLast()), [
            #"{"event":"progress","progress":0.0,"stage":"probing"}"#,
            #"{"event":"progress","progress":0.4213,"stage":"encoding"}"#,
            #"{"event":"progress","progress":1.0,"stage":"verifying"}"#,
            #"{"event":"error","code":"no-audio","message":"input '\/in\/talk.wav' has no audio stream","transient":false}"#
                .replacingOccurrences(of: #"\/"#, with: "/"),
        ])
        for line in lines.dropLast() { XCTAssertNoThrow(try JSONParser.parse(line)) }
    }

    func testResultLine() throws {
        let r = RenderResult(duration: 12.3454, bytes: 123_456, mediaSeconds: 12.3449, codec: "mp3", sampleRate: 44100, channels: 2, bitrate: 128)
        let lines = capture { w, _ in w.result(r) }
        XCTAssertEqual(lines.first,
                       #"{"event":"result","duration":12.345,"bytes":123456,"mediaSeconds":12.345,"codec":"mp3","sampleRate":44100,"channels":2,"bitrate":128}"#)
    }
}
