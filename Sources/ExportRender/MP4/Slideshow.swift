import CFFmpeg
import ExportCore

/// The pictures of a slideshow, frame by frame: each slide's picture
/// (decoded, fitted and converted once), cross-fades between slides, and
/// the text layer on top.
///
/// A frame with nothing on it but the slide is the slide's own picture,
/// handed to the encoder again without a copy; a frame with text or a fade
/// is composed in one working frame, and composed again only when the text
/// or the fade changes.
final class Slideshow {
    let timing: SlideTiming
    private let pictures: [Frame]
    private let overlay: FrameOverlay?
    private let work: Frame
    /// The slide whose picture (with the current text, no fade) `work` holds.
    private var composedSlide: Int?

    init(timing: SlideTiming, pictures: [Frame], overlay: FrameOverlay?, width: Int, height: Int) throws(AVError) {
        self.timing = timing
        self.pictures = pictures
        self.overlay = overlay
        work = try Frame()
        try work.allocateVideo(width: width, height: height, format: AV_PIX_FMT_YUV420P)
    }

    /// The picture at `t` seconds. Its buffers belong to the slideshow: the
    /// caller sets `pts` and sends it to the encoder, which takes a reference.
    func frame(at t: Double) throws(RenderError) -> Frame {
        let (i, next, weight) = timing.slide(at: t)
        let changed = try overlay?.prepare(at: t) ?? false
        let hasText = !(overlay?.isEmpty ?? true)
        if next == nil && !hasText {
            composedSlide = nil
            return pictures[i]
        }
        if next == nil && !changed && composedSlide == i { return work }
        do { try work.makeWritable() } catch { throw .internal("out of memory composing a frame: \(error)") }
        if let next {
            PictureBlend.crossFade(pictures[i], pictures[next], weight: weight, into: work)
            composedSlide = nil
        } else {
            do { try work.copyPicture(from: pictures[i]) } catch { throw .internal("could not compose a frame: \(error)") }
            composedSlide = i
        }
        if hasText { overlay?.blend(onto: work) }
        return work
    }
}
