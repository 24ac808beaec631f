/// The stored form of mp4 options: the job file's own field names, with
/// absolute paths, every default written out, and captions inline (the
/// caption file is parsed once, at submit).
extension MP4Options {
    var storedPairs: [(String, JSONValue?)] {
        [
            ("width", .int(Int64(width))),
            ("height", .int(Int64(height))),
            ("fps", fps.denominator == 1 ? .int(Int64(fps.numerator)) : .double(fps.value)),
            ("fit", slides.isEmpty ? .string(fit.rawValue) : nil),
            ("background", .string(background.description)),
            ("audio", audio.map { .string($0) }),
            ("slides", slides.isEmpty ? nil : .array(slides.map(\.json))),
            ("transition", transition.map { .object([("type", .string($0.kind.rawValue)), ("duration", .double($0.duration))]) }),
            ("captions", captions.isEmpty ? nil : .array(captions.map(\.json))),
            ("style", style.json),
            ("captionStyle", captionStyle.json),
            ("crf", .int(Int64(crf))),
            ("preset", .string(preset)),
            ("audioBitrate", .int(Int64(audioBitrate))),
        ]
    }
}

extension Slide {
    var json: JSONValue {
        .compactObject([
            ("image", image.map { .string($0) }),
            ("duration", duration.map { .double($0) }),
            ("fit", fit.map { .string($0.rawValue) }),
            ("focus", focus == FocusPoint() ? nil : .object([("x", .double(focus.x)), ("y", .double(focus.y))])),
            ("background", background.map { .string($0.description) }),
            ("text", text.map { .string($0) }),
            ("style", style.json),
        ])
    }
}

extension CaptionCue {
    var json: JSONValue {
        .compactObject([
            ("start", .double(start)),
            ("end", .double(end)),
            ("text", .string(text)),
            ("words", words.isEmpty ? nil : .array(words.map {
                .object([("start", .double($0.start)), ("end", .double($0.end)), ("text", .string($0.text))])
            })),
        ])
    }
}

extension TextStyle {
    /// The fields that are set; nil when none is.
    var json: JSONValue? {
        let pairs: [(String, JSONValue?)] = [
            ("font", font.map { .string($0) }),
            ("fontFile", fontFile.map { .string($0) }),
            ("fontSize", fontSize.map { .double($0) }),
            ("color", color.map { .string($0.description) }),
            ("highlightColor", highlightColor.map { .string($0.description) }),
            ("outline", outline.map { .double($0) }),
            ("outlineColor", outlineColor.map { .string($0.description) }),
            ("shadow", shadow.map { .double($0) }),
            ("shadowColor", shadowColor.map { .string($0.description) }),
            ("box", box.map { .bool($0) }),
            ("boxColor", boxColor.map { .string($0.description) }),
            ("position", position.map { .string($0.rawValue) }),
            ("align", align.map { .string($0.rawValue) }),
            ("margin", margin.map { .double($0) }),
            ("maxWidth", maxWidth.map { .double($0) }),
            ("lineSpacing", lineSpacing.map { .double($0) }),
        ]
        return pairs.contains { $0.1 != nil } ? .compactObject(pairs) : nil
    }
}
