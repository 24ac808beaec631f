/// Options of an mp4 job: a slideshow over audio, or a re-encoded video.
///
/// Exactly one of `Job.input` (a video to re-encode) or `slides` is used:
/// a job with `slides` has no `input` (its `input` is the empty string) and
/// usually an `audio` track; a job with `input` has no `slides`.
public struct MP4Options: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Frames per second as a fraction (30/1, 30000/1001).
    public var fps: Fraction
    /// How the input video fits the frame (slides have their own `fit`).
    public var fit: FitMode
    /// Background of letterboxing, transparent images and slides without an image.
    public var background: Color
    /// Audio track of a slideshow (absolute path); the job's `start`/`duration` trim it.
    public var audio: String?
    public var slides: [Slide]
    public var transition: Transition?
    /// Caption cues, parsed from the job's SRT/WebVTT file or inline list at submit.
    public var captions: [CaptionCue]
    /// Style of all text (captions and slide text) unless overridden.
    public var style: TextStyle
    /// Overrides of `style` for captions only.
    public var captionStyle: TextStyle
    /// x264 constant rate factor, 0…51 (lower is better quality).
    public var crf: Int
    /// x264 preset name.
    public var preset: String
    /// AAC bitrate in kbit/s.
    public var audioBitrate: Int

    public static let defaultFPS = Fraction(30, 1)
    public static let defaultCRF = 23
    public static let defaultPreset = "veryfast"
    public static let defaultAudioBitrate = 128
    public static let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
    /// Named frame sizes accepted in `"size"`.
    public static let sizePresets: [(name: String, width: Int, height: Int)] = [
        ("square", 1080, 1080), ("portrait", 1080, 1350), ("story", 1080, 1920), ("vertical", 1080, 1920),
        ("landscape", 1920, 1080), ("1080p", 1920, 1080), ("720p", 1280, 720), ("480p", 854, 480),
    ]

    public init(width: Int = 1920, height: Int = 1080, fps: Fraction = MP4Options.defaultFPS, fit: FitMode = .contain,
                background: Color = .black, audio: String? = nil, slides: [Slide] = [], transition: Transition? = nil,
                captions: [CaptionCue] = [], style: TextStyle = TextStyle(), captionStyle: TextStyle = TextStyle(),
                crf: Int = MP4Options.defaultCRF, preset: String = MP4Options.defaultPreset,
                audioBitrate: Int = MP4Options.defaultAudioBitrate) {
        self.width = width
        self.height = height
        self.fps = fps
        self.fit = fit
        self.background = background
        self.audio = audio
        self.slides = slides
        self.transition = transition
        self.captions = captions
        self.style = style
        self.captionStyle = captionStyle
        self.crf = crf
        self.preset = preset
        self.audioBitrate = audioBitrate
    }

    /// The style captions are drawn with: `captionStyle` over `style` over the defaults.
    public var resolvedCaptionStyle: TextStyle { captionStyle.over(style) }
}

/// A positive rational number (frame rates).
public struct Fraction: Sendable, Equatable, CustomStringConvertible {
    public var numerator: Int
    public var denominator: Int
    public init(_ numerator: Int, _ denominator: Int) {
        self.numerator = numerator
        self.denominator = denominator
    }
    public var value: Double { Double(numerator) / Double(denominator) }
    public var description: String { denominator == 1 ? String(numerator) : "\(numerator)/\(denominator)" }
}

/// How a picture is fitted into a frame of another shape.
public enum FitMode: String, Sendable, CaseIterable {
    /// Scale to fill the frame, keeping the aspect ratio, and crop what overflows (around the focus).
    case cover
    /// Scale to fit inside the frame, keeping the aspect ratio, on the background colour.
    case contain
    /// Scale to the frame exactly, distorting the aspect ratio.
    case stretch
}

/// An sRGB colour with alpha, written `#rrggbb` or `#rrggbbaa` in job files.
public struct Color: Sendable, Equatable, CustomStringConvertible {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8
    /// 255 is opaque.
    public var alpha: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8, alpha: UInt8 = 255) {
        self.red = red
        self.green = green
        self.blue = blue
        self.alpha = alpha
    }

    public static let black = Color(red: 0, green: 0, blue: 0)
    public static let white = Color(red: 255, green: 255, blue: 255)

    /// Parses `#rgb`, `#rrggbb` or `#rrggbbaa` (case-insensitive), or nil.
    public init?(hex: String) {
        guard hex.hasPrefix("#") else { return nil }
        var digits = Array(hex.utf8.dropFirst()).map { c -> UInt8? in
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        guard !digits.contains(where: { $0 == nil }) else { return nil }
        if digits.count == 3 { digits = digits.flatMap { [$0, $0] } }
        guard digits.count == 6 || digits.count == 8 else { return nil }
        func byte(_ i: Int) -> UInt8 { digits[i]! << 4 | digits[i + 1]! }
        self.init(red: byte(0), green: byte(2), blue: byte(4), alpha: digits.count == 8 ? byte(6) : 255)
    }

    /// `#rrggbb`, or `#rrggbbaa` when not opaque.
    public var description: String {
        func hex(_ b: UInt8) -> String { let s = String(b, radix: 16); return s.count == 1 ? "0" + s : s }
        return "#" + hex(red) + hex(green) + hex(blue) + (alpha == 255 ? "" : hex(alpha))
    }
}

/// A point of interest in an image, 0…1 from the left and the top; `cover` crops keep it in view.
public struct FocusPoint: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public init(x: Double = 0.5, y: Double = 0.5) {
        self.x = x
        self.y = y
    }
}

/// One slide of a slideshow: an image (or a plain background), for a time, with optional text.
public struct Slide: Sendable, Equatable {
    /// Absolute path of the image; nil for a plain `background` slide.
    public var image: String?
    /// Seconds on screen; nil shares the time that remains (see `SlideTiming`).
    public var duration: Double?
    /// nil uses the job's `fit` (default cover for slides).
    public var fit: FitMode?
    public var focus: FocusPoint
    /// nil uses the job's background.
    public var background: Color?
    /// Text drawn on the slide, in `style` over the job's style.
    public var text: String?
    public var style: TextStyle

    public init(image: String? = nil, duration: Double? = nil, fit: FitMode? = nil, focus: FocusPoint = FocusPoint(),
                background: Color? = nil, text: String? = nil, style: TextStyle = TextStyle()) {
        self.image = image
        self.duration = duration
        self.fit = fit
        self.focus = focus
        self.background = background
        self.text = text
        self.style = style
    }
}

/// How one slide gives way to the next.
public struct Transition: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Cross-fade: the next slide blends in over `duration` seconds.
        case fade
    }
    public var kind: Kind
    public var duration: Double
    public init(kind: Kind = .fade, duration: Double = 0.5) {
        self.kind = kind
        self.duration = duration
    }
}

/// One caption: text shown from `start` to `end` seconds of the output.
public struct CaptionCue: Sendable, Equatable {
    public var start: Double
    public var end: Double
    /// Lines separated by "\n"; plain text (markup in SRT/WebVTT files is removed at submit).
    public var text: String
    /// Word timings, in order, within `start…end`; when present the word being spoken is highlighted.
    public var words: [Word]

    public struct Word: Sendable, Equatable {
        public var start: Double
        public var end: Double
        public var text: String
        public init(start: Double, end: Double, text: String) {
            self.start = start
            self.end = end
            self.text = text
        }
    }

    public init(start: Double, end: Double, text: String, words: [Word] = []) {
        self.start = start
        self.end = end
        self.text = text
        self.words = words
    }
}

/// How text looks. Every field is optional so styles can be layered
/// (slide over job, captions over job); `resolved` fills in the defaults.
public struct TextStyle: Sendable, Equatable {
    public enum Position: String, Sendable, CaseIterable { case top, middle, bottom }
    public enum Alignment: String, Sendable, CaseIterable { case left, center, right }

    /// Font family name, found with fontconfig.
    public var font: String?
    /// Font file (absolute path); wins over `font`.
    public var fontFile: String?
    /// Pixels: the line height of the font at the output frame size (ASS's convention; DejaVu Sans's em is 0.86 of it).
    public var fontSize: Double?
    public var color: Color?
    /// Colour of the word being spoken (captions with word timings).
    public var highlightColor: Color?
    /// Outline width in pixels; 0 for none.
    public var outline: Double?
    public var outlineColor: Color?
    /// Shadow offset in pixels; 0 for none.
    public var shadow: Double?
    public var shadowColor: Color?
    /// A box behind the text, in `boxColor` (translucent by default).
    public var box: Bool?
    public var boxColor: Color?
    public var position: Position?
    public var align: Alignment?
    /// Pixels between the text and the frame's edge (top or bottom, and the sides).
    public var margin: Double?
    /// Widest a line may be, in pixels, before it wraps; defaults to the frame width less the margins.
    public var maxWidth: Double?
    /// Line height as a multiple of the font size.
    public var lineSpacing: Double?

    public init() {}

    public static let defaultFont = "DejaVu Sans"

    /// Each field of `self`, or of `base` where `self` has none.
    public func over(_ base: TextStyle) -> TextStyle {
        var s = self
        s.font = font ?? (fontFile == nil ? base.font : nil)
        s.fontFile = fontFile ?? (font == nil ? base.fontFile : nil)
        s.fontSize = fontSize ?? base.fontSize
        s.color = color ?? base.color
        s.highlightColor = highlightColor ?? base.highlightColor
        s.outline = outline ?? base.outline
        s.outlineColor = outlineColor ?? base.outlineColor
        s.shadow = shadow ?? base.shadow
        s.shadowColor = shadowColor ?? base.shadowColor
        s.box = box ?? base.box
        s.boxColor = boxColor ?? base.boxColor
        s.position = position ?? base.position
        s.align = align ?? base.align
        s.margin = margin ?? base.margin
        s.maxWidth = maxWidth ?? base.maxWidth
        s.lineSpacing = lineSpacing ?? base.lineSpacing
        return s
    }

    /// All fields filled: this style over the defaults for a frame `height` pixels tall
    /// (font size 1/20 of the height, white, 2-pixel-per-1080 black outline, bottom, centred).
    public func resolved(frameHeight height: Int) -> TextStyle {
        var d = TextStyle()
        let scale = Double(height) / 1080
        d.font = TextStyle.defaultFont
        d.fontSize = (Double(height) / 20).rounded()
        d.color = .white
        d.highlightColor = Color(red: 255, green: 214, blue: 0)
        d.outline = (3 * scale).rounded()
        d.outlineColor = .black
        d.shadow = 0
        d.shadowColor = Color(red: 0, green: 0, blue: 0, alpha: 128)
        d.box = false
        d.boxColor = Color(red: 0, green: 0, blue: 0, alpha: 160)
        d.position = .bottom
        d.align = .center
        d.margin = (60 * scale).rounded()
        d.lineSpacing = 1.2
        return over(d)  // maxWidth stays nil: the renderer uses the frame width less both margins
    }
}
