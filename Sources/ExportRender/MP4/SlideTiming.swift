import ExportCore

/// When each slide of a slideshow is on screen, in seconds of the output.
///
/// With an audio track the video lasts `total` (the audio after its trim):
/// slides with a `duration` keep it, slides without one share what remains
/// equally, and the last slide holds to the end (or is cut there). Without
/// audio, `total` is the sum of the durations. A fade ends when the next
/// slide's time starts, and is shortened to the shorter of the two slides.
struct SlideTiming: Equatable {
    struct Span: Equatable {
        var start: Double
        var end: Double
    }

    /// One span per slide, in order, back to back from 0 to `total`; a slide
    /// cut off by the end of the audio gets an empty span at `total`.
    let spans: [Span]
    let total: Double
    /// Seconds of the cross-fade into slide i + 1 (0 without a transition).
    let fades: [Double]

    init(slides: [Slide], audioSeconds: Double?, transition: Transition?) {
        let fixed = slides.reduce(0) { $0 + ($1.duration ?? 0) }
        let flexible = slides.filter { $0.duration == nil }.count
        let total = audioSeconds ?? fixed
        let share = flexible > 0 ? max(0, total - fixed) / Double(flexible) : 0
        var spans: [Span] = []
        var at = 0.0
        for s in slides {
            let length = s.duration ?? share
            let start = min(at, total)
            spans.append(Span(start: start, end: min(at + length, total)))
            at += length
        }
        if !spans.isEmpty { spans[spans.count - 1].end = total }  // the last slide holds to the end
        self.spans = spans
        self.total = total
        let fade = transition?.duration ?? 0
        fades = spans.indices.dropLast().map { i in
            min(fade, spans[i].end - spans[i].start, spans[i + 1].end - spans[i + 1].start)
        }
    }

    /// What shows at `t`: the slide, and when a fade into the next one is under way, that one and its weight (0…1).
    func slide(at t: Double) -> (index: Int, next: Int?, weight: Double) {
        guard !spans.isEmpty else { return (0, nil, 0) }
        var i = spans.count - 1
        // Spans are sorted; a slideshow has at most 200, and frames ask in order, so a scan is cheap.
        for (k, s) in spans.enumerated() where t < s.end && s.end > s.start {
            i = k
            break
        }
        if i < fades.count, fades[i] > 0 {
            let fadeStart = spans[i].end - fades[i]
            if t >= fadeStart { return (i, i + 1, (t - fadeStart) / fades[i]) }
        }
        return (i, nil, 0)
    }
}
