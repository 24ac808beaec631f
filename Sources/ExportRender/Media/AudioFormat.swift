import CFFmpeg

/// Sample format, rate and channel layout of a stream of audio samples.
///
/// Layouts are normalised to FFmpeg's native channel order: a WAV without a
/// channel mask decodes with `AV_CHANNEL_ORDER_UNSPEC`, which swresample
/// cannot mix, so such layouts become `av_channel_layout_default` of their
/// channel count.
struct AudioFormat: Equatable {
    var sampleFormat: AVSampleFormat
    var sampleRate: Int
    var layout: ChannelLayout

    /// The format of a decoded frame.
    init(frame: UnsafePointer<AVFrame>) {
        sampleFormat = AVSampleFormat(rawValue: frame.pointee.format)
        sampleRate = Int(frame.pointee.sample_rate)
        layout = ChannelLayout(normalising: frame.pointee.ch_layout)
    }

    init(sampleFormat: AVSampleFormat, sampleRate: Int, channels: Int) {
        self.sampleFormat = sampleFormat
        self.sampleRate = sampleRate
        layout = ChannelLayout(channels: channels)
    }

    var channels: Int { layout.channels }
    var isPlanar: Bool { av_sample_fmt_is_planar(sampleFormat) != 0 }
    var bytesPerSample: Int { Int(av_get_bytes_per_sample(sampleFormat)) }

    static func == (a: AudioFormat, b: AudioFormat) -> Bool {
        a.sampleFormat == b.sampleFormat && a.sampleRate == b.sampleRate && a.layout == b.layout
    }
}

/// A native-order `AVChannelLayout` (a plain value: no custom map to free).
struct ChannelLayout: Equatable {
    var storage: AVChannelLayout

    /// `av_channel_layout_default` for `channels`.
    init(channels: Int) {
        storage = AVChannelLayout()
        av_channel_layout_default(&storage, Int32(channels))
    }

    /// `layout` itself when it is in native order, else the default layout of its channel count.
    init(normalising layout: AVChannelLayout) {
        var s = AVChannelLayout()
        if layout.order == AV_CHANNEL_ORDER_NATIVE && layout.nb_channels > 0 {
            s.order = AV_CHANNEL_ORDER_NATIVE
            s.nb_channels = layout.nb_channels
            s.u.mask = layout.u.mask
        } else {
            av_channel_layout_default(&s, max(1, layout.nb_channels))
        }
        storage = s
    }

    var channels: Int { Int(storage.nb_channels) }

    static func == (a: ChannelLayout, b: ChannelLayout) -> Bool {
        var x = a.storage, y = b.storage
        return av_channel_layout_compare(&x, &y) == 0
    }
}
