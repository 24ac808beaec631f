extension Job {
    /// Every file path the job names, with its field (as in messages) and
    /// whether it is read or written: what the roots confine, what the
    /// render child opens, and what the decoder fuzz harness checks.
    public var paths: [(field: String, path: String, use: PathRoots.Use)] {
        var out: [(String, String, PathRoots.Use)] = []
        if !input.isEmpty { out.append(("input", input, .input)) }
        out.append(("output", output, .output))
        func font(_ style: TextStyle, _ field: String) {
            if let f = style.fontFile { out.append((field + ".fontFile", f, .input)) }
        }
        switch kind {
        case .mp3:
            break
        case .mp4:
            if let a = mp4.audio { out.append(("audio", a, .input)) }
            for (i, s) in mp4.slides.enumerated() {
                if let image = s.image { out.append(("slides[\(i)].image", image, .input)) }
                font(s.style, "slides[\(i)].style")
            }
            font(mp4.style, "style")
            font(mp4.captionStyle, "captionStyle")
        case .carousel:
            for (i, s) in carousel.slides.enumerated() {
                if let image = s.image { out.append(("slides[\(i)].image", image, .input)) }
                font(s.style, "slides[\(i)].style")
            }
            font(carousel.style, "style")
        }
        return out
    }
}
