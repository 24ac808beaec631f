import CFFmpeg
import ExportCore

/// Fits decoded video pictures into the output frame: turned upright by the
/// stream's rotation, cropped (`cover`), letterboxed (`contain`) or
/// stretched, and scaled once with swscale (bicubic, like the ffmpeg CLI's
/// `scale` filter) straight from the decoder's pixel format into yuv420p.
final class VideoFitter {
    let width: Int
    let height: Int
    let fit: FitMode
    let background: YUVColor
    /// Clockwise degrees the decoded picture is turned to show upright (0, 90, 180, 270).
    let rotation: Int

    private var sws: OpaquePointer?
    private var configured: (width: Int32, height: Int32, format: Int32)?
    private var geometry: FitGeometry?
    /// The scaled picture before it is turned (only when `rotation` is not 0).
    private var scaled: Frame?
    /// The frame whose letterbox bars are already the background: pictures
    /// only ever land inside the target rectangle, so the bars are filled once
    /// per frame and geometry, not once per picture.
    private var barsFilled: ObjectIdentifier?

    init(width: Int, height: Int, fit: FitMode, background: Color, rotation: Int) {
        self.width = width
        self.height = height
        self.fit = fit
        self.background = YUVColor(background)
        self.rotation = rotation
    }

    deinit { sws_freeContext(sws) }

    /// Clockwise degrees from a stream's display matrix, as the ffmpeg CLI's autorotate reads it.
    static func rotation(of stream: UnsafeMutablePointer<AVStream>) -> Int {
        var size: Int = 0
        guard let data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size), size >= 36 else { return 0 }
        let theta = -av_display_rotation_get(UnsafeRawPointer(data).assumingMemoryBound(to: Int32.self))
        guard theta.isFinite else { return 0 }
        let degrees = ((Int((theta / 90).rounded()) * 90) % 360 + 360) % 360
        return degrees
    }

    /// Draws `src` into `dst`, a writable yuv420p frame of the output size.
    func draw(_ src: Frame, into dst: Frame) throws(AVError) {
        let f = src.pointer.pointee
        if configured == nil || configured! != (f.width, f.height, f.format) { try configure(for: src) }
        guard let g = geometry else { throw AVError(errno: EINVAL) }
        if fit == .contain, g.target.width < width || g.target.height < height, barsFilled != ObjectIdentifier(dst) {
            dst.fill(background)
            barsFilled = ObjectIdentifier(dst)
        }
        let crop = sourceRect(g.target.width, g.target.height, display: g.source, src: src)
        if rotation == 0 {
            try AVError.check(cffmpeg_sws_scale_frames(sws, src.pointer, Int32(crop.x), Int32(crop.y), Int32(crop.height),
                                                       dst.pointer, Int32(g.target.x), Int32(g.target.y)))
            return
        }
        guard let scaled else { throw AVError(errno: EINVAL) }
        try scaled.makeWritable()
        try AVError.check(cffmpeg_sws_scale_frames(sws, src.pointer, Int32(crop.x), Int32(crop.y), Int32(crop.height),
                                                   scaled.pointer, 0, 0))
        for plane in 0..<3 {
            let shift = plane == 0 ? 0 : 1
            PictureBlend.rotate(scaled.data(plane), stride: scaled.linesize(plane), width: scaled.width >> shift,
                                height: scaled.height >> shift, into: dst.data(plane), stride: dst.linesize(plane),
                                x: g.target.x >> shift, y: g.target.y >> shift, degrees: rotation)
        }
    }

    /// The crop in the decoded picture's own orientation, from the crop of the upright picture.
    private func sourceRect(_: Int, _: Int, display d: FitGeometry.Rect, src: Frame) -> FitGeometry.Rect {
        let w = src.width, h = src.height
        switch rotation {
        case 90: return .init(x: d.y, y: h - d.x - d.width, width: d.height, height: d.width)
        case 180: return .init(x: w - d.x - d.width, y: h - d.y - d.height, width: d.width, height: d.height)
        case 270: return .init(x: w - d.y - d.height, y: d.x, width: d.height, height: d.width)
        default: return d
        }
    }

    private func configure(for src: Frame) throws(AVError) {
        let f = src.pointer.pointee
        let turned = rotation == 90 || rotation == 270
        let (dw, dh) = turned ? (Int(f.height), Int(f.width)) : (Int(f.width), Int(f.height))
        let g = FitGeometry(sourceWidth: dw, sourceHeight: dh, frameWidth: width, frameHeight: height, fit: fit)
        let crop = sourceRect(0, 0, display: g.source, src: src)
        let (tw, th) = turned ? (g.target.height, g.target.width) : (g.target.width, g.target.height)
        // JPEG-range formats are deprecated in swscale: the same layout, with the range said separately.
        var format = AVPixelFormat(rawValue: f.format)
        var fullRange = f.color_range == AVCOL_RANGE_JPEG
        switch format {
        case AV_PIX_FMT_YUVJ420P: format = AV_PIX_FMT_YUV420P; fullRange = true
        case AV_PIX_FMT_YUVJ422P: format = AV_PIX_FMT_YUV422P; fullRange = true
        case AV_PIX_FMT_YUVJ444P: format = AV_PIX_FMT_YUV444P; fullRange = true
        default: break
        }
        sws_freeContext(sws)
        // The ranges are options set before sws_init_context: set afterwards
        // (sws_setColorspaceDetails), a same-size copy would keep full range.
        guard let ctx = sws_alloc_context() else { throw .noMemory }
        sws = ctx
        let options: [(String, Int64)] = [
            ("srcw", Int64(crop.width)), ("srch", Int64(crop.height)), ("src_format", Int64(format.rawValue)),
            ("dstw", Int64(tw)), ("dsth", Int64(th)), ("dst_format", Int64(AV_PIX_FMT_YUV420P.rawValue)),
            ("sws_flags", Int64(SWS_BICUBIC)), ("src_range", fullRange ? 1 : 0), ("dst_range", 0),
        ]
        for (name, value) in options { try AVError.check(av_opt_set_int(UnsafeMutableRawPointer(ctx), name, value, 0)) }
        try AVError.check(sws_init_context(ctx, nil, nil))
        if turned || rotation == 180 {
            let s = try Frame()
            try s.allocateVideo(width: tw, height: th, format: AV_PIX_FMT_YUV420P)
            scaled = s
        } else {
            scaled = nil
        }
        geometry = g
        barsFilled = nil
        configured = (f.width, f.height, f.format)
    }
}
