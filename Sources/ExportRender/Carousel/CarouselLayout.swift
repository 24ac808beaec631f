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
        // Where libass is told to put each text: the padding, plus what a box adds around its text.
        var margins: [Double] = o.slides.indices.map { CarouselLayout.margin(o, slide: $0, size: sizes[$0]) }
        var nudges = [Int](repeating: 0, count: o.slides.count)
        var layer: TextLayer? = nil
        // No text, no text engine (fontconfig's font list alone is a few megabytes).
        if sizes.contains(where: { $0 != nil }) { layer = try CarouselLayout.layer(o, sizes: sizes, margins: margins) }
        // What is drawn must lie inside the padding box. Text that reaches past it is first
        // moved in by the overshoot (libass's line boxes, outlines and box padding are not
        // exactly what the margins say), then, if that is not enough, shrunk by 10 % and
        // laid out again, down to `minFontSize`.
        while let current = layer {
            var changed = false
            for i in o.slides.indices where sizes[i] != nil {
                _ = try current.prepare(at: CarouselLayout.time(of: i))
                guard let b = current.bounds else { continue }
                let p = o.padding
                let over = max(p - Double(b.x), p - Double(b.y), Double(b.x + b.width) - (Double(o.width) - p),
                               Double(b.y + b.height) - (Double(o.height) - p), 0)
                guard over > 0 else { continue }
                changed = true
                let inner = (Double(o.width) - 2 * p, Double(o.height) - 2 * p)
                if nudges[i] < 3, Double(b.width) <= inner.0, Double(b.height) <= inner.1 {
                    nudges[i] += 1
                    margins[i] += over.rounded(.up)
                    continue
                }
                let size = sizes[i]!
                if size <= o.minFontSize {
                    throw .invalidJob("\"slides[\(i)].text\": does not fit inside the \(o.width - 2 * Int(o.padding))×\(o.height - 2 * Int(o.padding)) box (padding \(RenderError.seconds(o.padding)) px) even at \(RenderError.seconds(o.minFontSize)) px; shorten it, lower \"minFontSize\" or reduce \"style.padding\"")
                }
                sizes[i] = max(o.minFontSize, (size * CarouselLayout.shrinkStep).rounded(.down))
                margins[i] = CarouselLayout.margin(o, slide: i, size: sizes[i])
                nudges[i] = 0
            }
            if !changed { break }
            layer = try CarouselLayout.layer(o, sizes: sizes, margins: margins)
        }
        fontSizes = sizes
        text = layer
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

    /// The text's margin from the slide's edges: the padding, and with a box the
    /// box's own padding (a quarter of the font size, as `ASSScript` draws it).
    private static func margin(_ o: CarouselOptions, slide i: Int, size: Double?) -> Double {
        let style = o.resolvedStyle(of: o.slides[i])
        guard let size, style.box == true else { return o.padding }
        return o.padding + (size / 4).rounded()
    }

    private static func layer(_ o: CarouselOptions, sizes: [Double?], margins: [Double]) throws(RenderError) -> TextLayer {
        var texts: [TextLayer.TimedText] = []
        for (i, slide) in o.slides.enumerated() {
            guard let size = sizes[i], let t = slide.text else { continue }
            var style = o.resolvedStyle(of: slide)
            style.fontSize = size
            style.margin = margins[i]
            style.maxWidth = Double(o.width) - 2 * margins[i]
            texts.append(TextLayer.TimedText(start: Double(i), end: Double(i + 1), text: t, style: style))
        }
        return try TextLayer(width: o.width, height: o.height, captions: [], captionStyle: TextStyle(), texts: texts)
    }
}
