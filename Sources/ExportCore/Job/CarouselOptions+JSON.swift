/// The stored form of carousel options: the job file's own field names,
/// with absolute paths and every default written out.
extension CarouselOptions {
    var storedPairs: [(String, JSONValue?)] {
        var stylePairs: [(String, JSONValue)] = []
        if case let .object(p)? = style.json { stylePairs = p }
        stylePairs += [("background", .string(background.description)), ("padding", .double(padding))]
        return [
            ("width", .int(Int64(width))),
            ("height", .int(Int64(height))),
            ("format", .string(format.rawValue)),
            ("quality", format == .png ? nil : .int(Int64(quality))),
            ("style", .object(stylePairs)),
            ("minFontSize", .double(minFontSize)),
            ("pageNumbers", .bool(pageNumbers)),
            ("slides", .array(slides.map(\.json))),
        ]
    }
}

extension CarouselSlide {
    var json: JSONValue {
        .compactObject([
            ("image", image.map { .string($0) }),
            ("fit", .string(fit.rawValue)),
            ("focus", focus == FocusPoint() ? nil : .object([("x", .double(focus.x)), ("y", .double(focus.y))])),
            ("background", background.map { .string($0.description) }),
            ("text", text.map { .string($0) }),
            ("style", style.json),
        ])
    }
}
