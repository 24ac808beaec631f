@testable import ExportRender
import XCTest

final class SampleWindowTests: XCTestCase {
    func testKeepsEverythingWithoutTrim() {
        var w = SampleWindow(start: nil, length: nil)
        XCTAssertEqual(w.take(position: -500, count: 1000).skip, 0, "no start: even samples before zero are kept")
        XCTAssertEqual(w.take(position: 500, count: 1000).keep, 1000)
        XCTAssertEqual(w.kept, 2000)
        XCTAssertFalse(w.isComplete)
    }

    func testDropsBeforeStartAndStopsAfterLength() {
        var w = SampleWindow(start: 1500, length: 1000)
        XCTAssertTrue(w.take(position: 0, count: 1024) == (1024, 0))
        XCTAssertTrue(w.take(position: 1024, count: 1024) == (476, 548))
        XCTAssertTrue(w.take(position: 2048, count: 1024) == (0, 452))
        XCTAssertTrue(w.isComplete)
        XCTAssertEqual(w.kept, 1000)
        XCTAssertTrue(w.take(position: 3072, count: 1024) == (0, 0))
    }

    func testFirstChunkAfterStartKeepsLengthFromThere() {
        // A seek that lands after `start` (a coarse index): the length still counts in full.
        var w = SampleWindow(start: 1000, length: 300)
        XCTAssertTrue(w.take(position: 1200, count: 1000) == (0, 300))
    }
}
