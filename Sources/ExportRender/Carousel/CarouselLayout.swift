import ExportCore

/// The text of a carousel, laid out: each slide's text at the largest size
/// (from its style's `fontSize` down to `minFontSize`) whose lines fit inside
/// the padding box, drawn by the same text engine as the mp4 captions.
///
/// Slide i's text is an event from i to i + 1 seconds of one text layer, so
/// one libass renderer serves every slide; the page numbers are a second layer.
/// Used at submit (`JobCheck`: text that cannot fit is refused with the slide
/// named) and by the render.
final class CarouselLayout {
    let options: CarouselOptions
    /// The font size each slide's text is drawn at (nil: no text).
    private(set) var fontSizes: [Double?] = []
    private(set) var text: TextLayer?
    private(set) var pageNumbers: TextLayer?

    /// Each step of the shrinking multiplies the size by this.
    static let shrinkStep = 0.9

    init(options o: CarouselOptions) throws(RenderError) {
        options = o
        var sizes: [Double?] = o.slides.map { s in (s.text ?? "").isEmpty ? nil : o.resolvedStyle(of: s).fontSize }
        var layer = try CarouselLayout.layer(o, sizes: sizes)
        // Shrink what overflows, all overflowing slides at once, until everything fits or is at the minimum.
        while true {
            var overflowing: [Int] = []
            for i in o.slides.indices where sizes[i] != nil {
                if !(try CarouselLayout.fits(layer, slide: i, options: o)) { overflowing.append(i) }
            }
            if overflowing.isEmpty { break }
            for i in overflowing {
                let size = sizes[i]!
                if size <= o.minFontSize {
                    throw .invalidJob("\"slides[\(i)].text\": does not fit inside the \(o.width - 2 * Int(o.padding))×\(o.height - 2 * Int(o.padding)) box (padding \(RenderError.seconds(o.padding)) px) even at \(RenderError.seconds(o.minFontSize)) px; shorten it, lower \"minFontSize\" or reduce \"style.padding\"")
                }
                sizes[i] = max(o.minFontSize, (size * CarouselLayout.shrinkStep).rounded(.down))
            }
            layer = try CarouselLayout.layer(o, sizes: sizes)
        }
        fontSizes = sizes
        text = sizes.contains { $0 != nil } ? layer : nil
        if o.pageNumbers {
            let n = o.slides.count
            var texts: [TextLayer.TimedText] = []
            for i in 0..<n {
                var s = o.style
                let base = o.resolvedStyle(of: CarouselSlide(text: "x"))
                s.fontSize = max(8, ((base.fontSize ?? 40) * 0.4).rounded())
                s.position = .bottom
                s.align = .right
                s.box = false
                s.margin = (o.padding / 2).rounded()
                texts.append(TextLayer.TimedText(start: Double(i), end: Double(i + 1), text: "\(i + 1)/\(n)", style: s.over(base)))
            }
            pageNumbers = try TextLayer(width: o.width, height: o.height, captions: [], captionStyle: TextStyle(), texts: texts)
        }
    }

    /// The moment of slide `i` in the layers.
    static func time(of slide: Int) -> Double { Double(slide) + 0.5 }

    private static func layer(_ o: CarouselOptions, sizes: [Double?]) throws(RenderError) -> TextLayer {
        var texts: [TextLayer.TimedText] = []
        for (i, slide) in o.slides.enumerated() {
            guard let size = sizes[i], let t = slide.text else { continue }
            var style = o.resolvedStyle(of: slide)
            style.fontSize = size
            style.margin = o.padding
            style.maxWidth = Double(o.width) - 2 * o.padding
            texts.append(TextLayer.TimedText(start: Double(i), end: Double(i + 1), text: t, style: style))
        }
        return try TextLayer(width: o.width, height: o.height, captions: [], captionStyle: TextStyle(), texts: texts)
    }

    /// Whether slide `i`'s drawn text (its box included) lies inside the padding box.
    private static func fits(_ layer: TextLayer, slide i: Int, options o: CarouselOptions) throws(RenderError) -> Bool {
        _ = try layer.prepare(at: time(of: i))
        guard let b = layer.bounds else { return true }
        let p = Int(o.padding.rounded(.down))
        // A box reaches a little past its text; allow its padding on each side.
        let slack = 2 + Int((o.resolvedStyle(of: o.slides[i]).fontSize ?? 0) * 0.25)
        return b.x >= p - slack && b.y >= p - slack && b.x + b.width <= o.width - p + slack && b.y + b.height <= o.height - p + slack
    }
}
