/// Options of a carousel job: a numbered set of still slides of one size,
/// written as a folder of image files plus `manifest.json`, or as one PDF.
public struct CarouselOptions: Sendable, Equatable {
    /// What the slides are written as.
    public enum Format: String, Sendable, CaseIterable {
        /// `01.png`, `02.png`, … (lossless).
        case png
        /// `01.jpg`, … at `quality`.
        case jpeg
        /// `01.webp`, … at `quality` (lossy).
        case webp
        /// One PDF, a page per slide at the slide's size, each page one JPEG at `quality`.
        case pdf

        /// The extension of a slide file.
        public var fileExtension: String {
            switch self {
            case .png: return "png"
            case .jpeg: return "jpg"
            case .webp: return "webp"
            case .pdf: return "pdf"
            }
        }
    }

    public var width: Int
    public var height: Int
    public var format: Format
    /// 1…100, for jpeg, webp and the pictures of a pdf.
    public var quality: Int
    /// Colour of the slide behind images and text (the job's `style.background`).
    public var background: Color
    /// Pixels between the text and every edge of the slide (the job's `style.padding`).
    public var padding: Double
    /// Style of all text; a slide's `style` overrides it.
    public var style: TextStyle
    /// Text is shrunk until it fits inside the padding box, down to this size;
    /// text that still does not fit is refused at submit with the slide named.
    public var minFontSize: Double
    /// "2/7" in the bottom-right corner of every slide, in the text style at 40 % of its size.
    public var pageNumbers: Bool
    public var slides: [CarouselSlide]

    public static let maxSlides = 20
    public static let defaultQuality = 90
    /// Named sizes accepted in `"size"`.
    public static let sizePresets: [(name: String, width: Int, height: Int)] = [
        ("square", 1080, 1080), ("portrait", 1080, 1350), ("story", 1080, 1920), ("landscape", 1200, 627),
    ]

    public init(width: Int = 1080, height: Int = 1350, format: Format = .png, quality: Int = CarouselOptions.defaultQuality,
                background: Color = Color(red: 0x10, green: 0x18, blue: 0x20), padding: Double? = nil,
                style: TextStyle = TextStyle(), minFontSize: Double = 16, pageNumbers: Bool = false,
                slides: [CarouselSlide] = []) {
        self.width = width
        self.height = height
        self.format = format
        self.quality = quality
        self.background = background
        self.padding = padding ?? (Double(min(width, height)) * 0.074).rounded()  // 80 px on a 1080-wide slide
        self.style = style
        self.minFontSize = minFontSize
        self.pageNumbers = pageNumbers
        self.slides = slides
    }

    /// The style of slide `i`'s text: its own over the job's over the defaults
    /// (64 px per 1080 of the shorter side, centred, white; a translucent box when over an image).
    public func resolvedStyle(of slide: CarouselSlide) -> TextStyle {
        var d = TextStyle()
        d.fontSize = (Double(min(width, height)) * 64 / 1080).rounded()
        d.align = .center
        d.position = slide.image == nil ? .middle : .bottom
        d.outline = 0
        d.box = slide.image != nil
        d.margin = padding
        return slide.style.over(style).over(d).resolved(frameHeight: height)
    }
}

/// One slide of a carousel: an image, a text, or a text over an image.
public struct CarouselSlide: Sendable, Equatable {
    /// Absolute path of the image; nil for a text slide on the background.
    public var image: String?
    public var fit: FitMode
    public var focus: FocusPoint
    /// nil uses the job's background.
    public var background: Color?
    public var text: String?
    /// Where the text sits (the style's `position`); top, middle or bottom of the padding box.
    public var style: TextStyle

    public init(image: String? = nil, fit: FitMode = .cover, focus: FocusPoint = FocusPoint(), background: Color? = nil,
                text: String? = nil, style: TextStyle = TextStyle()) {
        self.image = image
        self.fit = fit
        self.focus = focus
        self.background = background
        self.text = text
        self.style = style
    }
}
