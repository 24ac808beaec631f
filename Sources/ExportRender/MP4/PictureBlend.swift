/// Pixel arithmetic on yuv420p frames of one size, done in place per frame.
enum PictureBlend {
    /// `out = a·(1−w) + b·w` for every byte of every plane (a cross-fade), with `w` in 0…1.
    static func crossFade(_ a: Frame, _ b: Frame, weight w: Double, into out: Frame) {
        let k = Int(max(0, min(256, (w * 256).rounded())))
        let inv = 256 - k
        for plane in 0..<3 {
            let rows = plane == 0 ? out.height : (out.height + 1) / 2
            let cols = plane == 0 ? out.width : (out.width + 1) / 2
            let pa = a.data(plane), pb = b.data(plane), po = out.data(plane)
            let sa = a.linesize(plane), sb = b.linesize(plane), so = out.linesize(plane)
            for r in 0..<rows {
                let ra = pa + r * sa, rb = pb + r * sb, ro = po + r * so
                for c in 0..<cols {
                    ro[c] = UInt8(truncatingIfNeeded: (Int(ra[c]) * inv + Int(rb[c]) * k + 128) >> 8)
                }
            }
        }
    }

    /// Copies plane `plane` of `src` (w×h samples) into `dst` at (x, y), turned by `degrees` clockwise (90, 180, 270).
    static func rotate(_ src: UnsafePointer<UInt8>, stride ss: Int, width w: Int, height h: Int,
                       into dst: UnsafeMutablePointer<UInt8>, stride ds: Int, x: Int, y: Int, degrees: Int) {
        switch degrees {
        case 90:   // (c, r) → (h−1−r, c)
            for r in 0..<h {
                let row = src + r * ss, col = x + h - 1 - r
                for c in 0..<w { dst[(y + c) * ds + col] = row[c] }
            }
        case 180:
            for r in 0..<h {
                let row = src + r * ss, out = dst + (y + h - 1 - r) * ds + x + w - 1
                for c in 0..<w { out[-c] = row[c] }
            }
        case 270:  // (c, r) → (r, w−1−c)
            for r in 0..<h {
                let row = src + r * ss, col = x + r
                for c in 0..<w { dst[(y + w - 1 - c) * ds + col] = row[c] }
            }
        default:
            for r in 0..<h { (dst + (y + r) * ds + x).update(from: src + r * ss, count: w) }
        }
    }
}
