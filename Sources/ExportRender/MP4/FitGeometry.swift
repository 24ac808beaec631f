import ExportCore

/// Where a picture of one size goes in a frame of another: the part of the
/// source that is used and the rectangle of the frame it is scaled into.
///
/// Every coordinate is even, so 4:2:0 chroma planes line up with the luma
/// (a crop or a letterbox never splits a chroma sample).
struct FitGeometry: Equatable {
    struct Rect: Equatable {
        var x: Int
        var y: Int
        var width: Int
        var height: Int
    }

    /// The part of the source picture that shows.
    let source: Rect
    /// Where it is scaled to in the frame; the rest is background (contain).
    let target: Rect

    /// - Parameters:
    ///   - focus: for `cover`, the point of the source (0…1) the crop keeps as close to the centre as it can.
    init(sourceWidth sw: Int, sourceHeight sh: Int, frameWidth fw: Int, frameHeight fh: Int,
         fit: FitMode, focus: FocusPoint = FocusPoint()) {
        func even(_ v: Double) -> Int { max(2, Int((v / 2).rounded()) * 2) }
        func evenDown(_ v: Int) -> Int { v & ~1 }
        let sourceAspect = Double(sw) / Double(sh), frameAspect = Double(fw) / Double(fh)
        switch fit {
        case .stretch:
            source = Rect(x: 0, y: 0, width: sw, height: sh)
            target = Rect(x: 0, y: 0, width: fw, height: fh)
        case .contain:
            source = Rect(x: 0, y: 0, width: sw, height: sh)
            var w = fw, h = fh
            if sourceAspect > frameAspect { h = min(fh, even(Double(fw) / sourceAspect)) } else { w = min(fw, even(Double(fh) * sourceAspect)) }
            target = Rect(x: evenDown((fw - w) / 2), y: evenDown((fh - h) / 2), width: w, height: h)
        case .cover:
            target = Rect(x: 0, y: 0, width: fw, height: fh)
            var cw = sw, ch = sh
            if sourceAspect > frameAspect { cw = min(sw, even(Double(sh) * frameAspect)) } else { ch = min(sh, even(Double(sw) / frameAspect)) }
            func place(_ crop: Int, _ total: Int, _ f: Double) -> Int {
                let centred = Double(total) * min(1, max(0, f)) - Double(crop) / 2
                return evenDown(Int(min(Double(total - crop), max(0, centred.rounded()))))
            }
            source = Rect(x: place(cw, sw, focus.x), y: place(ch, sh, focus.y), width: cw, height: ch)
        }
    }
}
