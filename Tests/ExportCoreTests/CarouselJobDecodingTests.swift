@testable import ExportCore
import Foundation
import XCTest

/// carousel job files: what is accepted with which defaults, what is stored, and every refusal's message.
final class CarouselJobDecodingTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "exportctl-carousel-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        for f in ["photo.jpg", "photo2.jpg"] {
            try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/" + f))
        }
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func decode(_ text: String, mode: JobDecoder.Mode = .submitted) throws(JobError) -> Job {
        try JobDecoder(mode: mode, baseDirectory: dir, checkFiles: mode == .submitted).decode(Array(text.utf8), name: "job.json")
    }

    private func message(_ text: String, _ file: StaticString = #filePath, _ line: UInt = #line) -> String {
        do {
            _ = try decode(text)
            XCTFail("accepted: \(text)", file: file, line: line)
            return ""
        } catch {
            return error.description
        }
    }

    /// A small valid carousel with `extra` members added at the top level.
    private func job(_ extra: String = "", slides: String = #"[{"text":"Hello"}]"#) -> String {
        #"{"kind":"carousel","output":"out/c","size":"square","slides":"# + slides + (extra.isEmpty ? "" : "," + extra) + "}"
    }

    static let example = #"""
    { "kind": "carousel", "output": "out/ep1-carousel", "width": 1080, "height": 1350, "format": "png",
      "style": { "font": "DejaVu Sans", "fontSize": 64, "color": "#ffffff", "background": "#101820", "align": "center", "padding": 80 },
      "pageNumbers": true,
      "slides": [ { "image": "photo.jpg", "fit": "cover" },
                  { "text": "The one idea worth keeping from this episode" },
                  { "image": "photo2.jpg", "text": "Text over an image", "textPosition": "bottom" } ] }
    """#

    func testTheExampleDecodesAndRoundTripsThroughTheStoredForm() throws {
        let job = try decode(Self.example)
        XCTAssertEqual(job.kind, .carousel)
        XCTAssertEqual(job.input, "")
        XCTAssertEqual(job.output, dir + "/out/ep1-carousel")
        let o = job.carousel
        XCTAssertEqual([o.width, o.height], [1080, 1350])
        XCTAssertEqual(o.format, .png)
        XCTAssertEqual(o.padding, 80)
        XCTAssertEqual(o.background, Color(red: 0x10, green: 0x18, blue: 0x20))
        XCTAssertTrue(o.pageNumbers)
        XCTAssertEqual(o.style.font, "DejaVu Sans")
        XCTAssertEqual(o.style.fontSize, 64)
        XCTAssertEqual(o.style.color, Color(red: 255, green: 255, blue: 255))
        XCTAssertEqual(o.style.align, .center)
        XCTAssertEqual(o.slides.count, 3)
        XCTAssertEqual(o.slides[0], CarouselSlide(image: dir + "/photo.jpg", fit: .cover))
        XCTAssertEqual(o.slides[1].text, "The one idea worth keeping from this episode")
        XCTAssertNil(o.slides[1].image)
        XCTAssertEqual(o.slides[2].image, dir + "/photo2.jpg")
        XCTAssertEqual(o.slides[2].style.position, .bottom)
        XCTAssertEqual(o.resolvedStyle(of: o.slides[1]).position, .middle, "a text slide's text is centred by default")
        XCTAssertEqual(o.resolvedStyle(of: o.slides[2]).box, true, "text over an image gets a box")

        // The stored form holds absolute paths and every default, and decodes to the same options.
        var stored = job
        stored.id = JobID("0123456789abc-abcdef")
        let bytes = Array(stored.storedJSON().jsonText().utf8)
        let again = try JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false).decode(bytes, name: "stored.json")
        XCTAssertEqual(again.carousel, job.carousel)
        XCTAssertEqual(again.output, job.output)
        XCTAssertEqual(again.kind, .carousel)
    }

    func testStoredFormRoundTripsNonDefaults() throws {
        let text = ##"{"kind":"carousel","output":"out/c.pdf","size":"story","format":"pdf","quality":70,"minFontSize":24,"style":{"padding":12,"background":"#00000080"},"slides":[{"image":"photo.jpg","fit":"contain","focus":{"x":0.2,"y":0.9},"background":"#ff0000"},{"text":"Top","textPosition":"top","style":{"fontSize":30,"background":"#00ff00"}}]}"##
        let job = try decode(text)
        XCTAssertEqual(job.carousel.format, .pdf)
        XCTAssertEqual(job.carousel.quality, 70)
        XCTAssertEqual(job.carousel.minFontSize, 24)
        XCTAssertEqual(job.carousel.padding, 12)
        XCTAssertEqual(job.carousel.slides[0].focus, FocusPoint(x: 0.2, y: 0.9))
        XCTAssertEqual(job.carousel.slides[1].background, Color(red: 0, green: 255, blue: 0))
        XCTAssertEqual(job.carousel.slides[1].style.position, .top)
        let bytes = Array(job.storedJSON().jsonText().utf8)
        let again = try JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false).decode(bytes, name: "stored.json")
        XCTAssertEqual(again.carousel, job.carousel)
    }

    func testDefaultsAndSizePresets() throws {
        let j = try decode(job())
        XCTAssertEqual([j.carousel.width, j.carousel.height], [1080, 1080])
        XCTAssertEqual(j.carousel.format, .png)
        XCTAssertEqual(j.carousel.quality, CarouselOptions.defaultQuality)
        XCTAssertEqual(j.carousel.padding, 80, "80 px on a 1080-wide slide")
        XCTAssertFalse(j.carousel.pageNumbers)
        XCTAssertEqual(j.carousel.minFontSize, 16)
        XCTAssertEqual(j.carousel.background, Color(red: 0x10, green: 0x18, blue: 0x20))
        XCTAssertEqual(j.carousel.resolvedStyle(of: j.carousel.slides[0]).fontSize, 64)
        for (name, w, h, padding) in [("square", 1080, 1080, 80.0), ("portrait", 1080, 1350, 80), ("story", 1080, 1920, 80),
                                      ("landscape", 1200, 627, 46)] {
            let p = try decode(job().replacingOccurrences(of: "\"square\"", with: "\"\(name)\""))
            XCTAssertEqual([p.carousel.width, p.carousel.height], [w, h], name)
            XCTAssertEqual(p.carousel.padding, padding, name)
        }
        let sized = try decode(#"{"kind":"carousel","output":"out/c","width":600,"height":400,"slides":[{"image":"photo.jpg"}]}"#)
        XCTAssertEqual([sized.carousel.width, sized.carousel.height], [600, 400])
        XCTAssertEqual(sized.carousel.slides[0].fit, .cover)
        XCTAssertEqual(try decode(job(#""format":"jpeg","quality":75"#)).carousel.quality, 75)
    }

    func testEachValidationErrorNamesTheField() throws {
        XCTAssertEqual(message(job(slides: "[]")), #"job.json: "slides": expected a non-empty array of slides"#)
        XCTAssertEqual(message(job(slides: "[" + Array(repeating: #"{"text":"a"}"#, count: 21).joined(separator: ",") + "]")),
                       #"job.json: "slides": at most 20 slides in a carousel (got 21)"#)
        XCTAssertNoThrow(try decode(job(slides: "[" + Array(repeating: #"{"text":"a"}"#, count: 20).joined(separator: ",") + "]")))
        XCTAssertEqual(message(job(slides: #"[{"text":"a"},{"fit":"cover"}]"#)), #"job.json: "slides[1]": give an "image", a "text" or both"#)
        XCTAssertEqual(message(job(slides: #"[{"text":""}]"#)), #"job.json: "slides[0]": give an "image", a "text" or both"#)
        XCTAssertEqual(message(job(#""format":"gif""#)), #"job.json: "format": expected one of "png", "jpeg", "webp", "pdf" (got "gif")"#)
        let odd = message(#"{"kind":"carousel","output":"out/c","width":1081,"height":1350,"slides":[{"text":"a"}]}"#)
        XCTAssertTrue(odd.hasPrefix(#"job.json: "width": must be even"#), odd)
        XCTAssertTrue(odd.contains("got 1081"), odd)
        XCTAssertEqual(message(job(#""quality":80"#)), #"job.json: "quality": applies to "jpeg", "webp" and "pdf"; PNG is lossless"#)
        XCTAssertEqual(message(job(slides: #"[{"imag":"photo.jpg"}]"#)), #"job.json: "slides[0].imag": unknown field; did you mean "image"?"#)
        XCTAssertEqual(message(job(slides: #"[{"text":"a","textPositon":"top"}]"#)),
                       #"job.json: "slides[0].textPositon": unknown field; did you mean "textPosition"?"#)
        XCTAssertEqual(message(job(slides: #"[{"text":"a","textPosition":"center"}]"#)),
                       #"job.json: "slides[0].textPosition": expected "top", "middle" or "bottom", got "center""#)
        XCTAssertEqual(message(job(slides: #"[{"text":"a"},{"image":"nope.jpg"}]"#)), #"job.json: "slides[1].image": no such file '\#(dir!)/nope.jpg'"#)
        XCTAssertEqual(message(job(#""size":"huge""#).replacingOccurrences(of: #""size":"square","#, with: "")),
                       #"job.json: "size": expected one of "square" (1080x1080), "portrait" (1080x1350), "story" (1080x1920), "landscape" (1200x627)"#)
        XCTAssertEqual(message(job(#""width":1080"#)), #"job.json: "size": give either "size" or "width" and "height", not both"#)
        XCTAssertEqual(message(job(#""input":"photo.jpg""#)), #"job.json: "input": unknown field"#)
        XCTAssertEqual(message(job(#""pageNumber":true"#)), #"job.json: "pageNumber": unknown field; did you mean "pageNumbers"?"#)
        XCTAssertEqual(message(job(#""style":{"padding":600}"#)), #"job.json: "style.padding": must be a number from 0 to less than 532 pixels (got 600)"#)
        XCTAssertEqual(message(job(slides: #"[{"text":"a","style":{"padding":10}}]"#)),
                       #"job.json: "slides[0].style.padding": is set for the whole carousel, in the job's "style""#)
        XCTAssertEqual(message(job(slides: #"[{"image":"photo.jpg","focus":{"x":2,"y":0}}]"#)),
                       #"job.json: "slides[0].focus": expected {"x": 0…1, "y": 0…1} (0,0 is the top left)"#)
    }

    func testOutputMustBeAFolderOrAPDFAndMayNotExistWithoutOverwrite() throws {
        try FileManager.default.createDirectory(atPath: dir + "/out/c", withIntermediateDirectories: true)
        XCTAssertEqual(message(job()), #"job.json: "output": 'out/c' exists; remove it or set "overwrite": true"#)
        XCTAssertNoThrow(try decode(job(#""overwrite":true"#)))
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/out/file"))
        XCTAssertEqual(message(job(#""overwrite":true"#).replacingOccurrences(of: "out/c", with: "out/file")),
                       #"job.json: "output": 'out/file' is a file; a carousel is written as a folder of slides (or give "format": "pdf")"#)
    }
}
