import ExportCore
@testable import ExportRender
import Glibc
import XCTest

final class RenderErrorTests: XCTestCase {
    func testCodesTransienceAndExitStatus() {
        let cases: [(RenderError, String, Bool, Int32)] = [
            (.invalidJob("job.json: \"kind\": missing"), "invalid-job", false, 65),
            (.inputUnreadable(path: "/a.wav", reason: "No such file or directory", transient: false), "input-unreadable", false, 1),
            (.inputUnreadable(path: "/a.wav", reason: "Input/output error", transient: true), "input-unreadable", true, 75),
            (.invalidMedia(path: "/a.wav", action: "open", reason: "Invalid data found when processing input"), "invalid-media", false, 1),
            (.noAudio(path: "/a.mp4"), "no-audio", false, 1),
            (.trimOutOfRange(path: "/a.wav", start: 12, inputDuration: 10.5), "trim-out-of-range", false, 1),
            (.io(SystemError("write", "/o/.a.mp3.tmp", errno: ENOSPC)), "io", true, 75),
            (.io(SystemError("write", "/o/.a.mp3.tmp", errno: EIO)), "io", true, 75),
            (.io(SystemError("open", "/o/.a.mp3.tmp", errno: EMFILE)), "io", true, 75),
            (.io(SystemError("open", "/o/.a.mp3.tmp", errno: EEXIST)), "io", false, 1),
            (.verify(path: "/a.wav", reason: "expected 2 s of audio, found 1.5 s"), "verify", false, 1),
            (.cancelled(path: "/a.wav"), "cancelled", true, 75),
            (.internal("boom"), "internal", false, 1),
        ]
        for (e, code, transient, status) in cases {
            XCTAssertEqual(e.code, code)
            XCTAssertEqual(e.isTransient, transient, "\(e)")
            XCTAssertEqual(e.exitStatus, status, "\(e)")
        }
    }

    func testMessagesNameTheFile() {
        XCTAssertEqual(RenderError.invalidMedia(path: "talk.wav", action: "open", reason: AVError.invalidData.description).description,
                       "could not open input 'talk.wav': Invalid data found when processing input")
        XCTAssertEqual(RenderError.trimOutOfRange(path: "talk.wav", start: 12.5, inputDuration: 10.0123).description,
                       "start 12.5 s is beyond the end of input 'talk.wav' (10.012 s long)")
        XCTAssertEqual(RenderError.io(SystemError("write", "/o/.t.mp3.x", errno: ENOSPC)).description,
                       "could not write the output file '/o/.t.mp3.x': No space left on device")
    }

    func testAVErrorDescriptions() {
        XCTAssertEqual(AVError.endOfFile.description, "End of file")
        XCTAssertEqual(AVError(errno: ENOENT).description, "No such file or directory")
        XCTAssertEqual(AVError(errno: ENOENT).posixErrno, ENOENT)
        XCTAssertNil(AVError.invalidData.posixErrno)
    }
}
