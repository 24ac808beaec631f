/// What an untrusted input may make FFmpeg do: which container formats and
/// decoders it may use, and how much it may read while probing.
///
/// Left out on purpose: playlists and file lists (hls, dash, concat,
/// image2, ffmetadata, tee…), which open other files or URLs, and every
/// video decoder (cover art is never decoded).
struct InputPolicy {
    /// `format_whitelist`: demuxers of audio and of common video containers.
    var formats: [String] = [
        "wav", "w64", "aiff", "caf", "au", "flac", "ogg", "matroska", "webm", "mov", "mp4", "m4a",
        "mp3", "aac", "ac3", "eac3", "dts", "truehd", "wv", "ape", "tta", "mpc", "mpc8", "amr",
        "amrnb", "amrwb", "avi", "asf", "flv", "mpegts", "mpeg", "rm", "voc", "xwma", "gsm",
    ]

    /// `codec_whitelist` for the decoder (and for every stream while probing).
    var decoders: [String] = [
        "pcm_s16le", "pcm_s16be", "pcm_u16le", "pcm_u16be", "pcm_s8", "pcm_u8", "pcm_s24le", "pcm_s24be",
        "pcm_u24le", "pcm_u24be", "pcm_s32le", "pcm_s32be", "pcm_u32le", "pcm_u32be", "pcm_s64le", "pcm_s64be",
        "pcm_f32le", "pcm_f32be", "pcm_f64le", "pcm_f64be", "pcm_alaw", "pcm_mulaw", "pcm_s16le_planar",
        "pcm_s24le_planar", "pcm_s32le_planar", "pcm_s16be_planar", "pcm_dvd", "pcm_bluray",
        "flac", "alac", "wavpack", "ape", "tta", "truehd", "mlp",
        "mp1", "mp1float", "mp2", "mp2float", "mp3", "mp3float", "mp3adu", "mp3adufloat", "mp3on4", "mp3on4float",
        "aac", "aac_fixed", "aac_latm", "ac3", "ac3_fixed", "eac3", "dca",
        "vorbis", "libvorbis", "opus", "libopus", "speex", "libspeex",
        "wmav1", "wmav2", "wmapro", "wmalossless", "wmavoice",
        "amrnb", "amrwb", "libopencore_amrnb", "libopencore_amrwb", "gsm", "gsm_ms",
        "adpcm_ima_wav", "adpcm_ms", "adpcm_ima_qt", "adpcm_swf", "adpcm_g722", "adpcm_g726", "g723_1", "g729",
        "mpc7", "mpc8", "cook", "ra_144", "ra_288", "atrac3", "atrac3p", "qdm2", "nellymoser",
    ]

    /// Video decoders a re-encode may add to `decoders` (`withVideo`).
    static let videoDecoders = [
        "h264", "hevc", "vp8", "vp9", "libvpx", "libvpx-vp9", "av1", "libdav1d", "libaom-av1", "mpeg4", "msmpeg4",
        "msmpeg4v1", "msmpeg4v2", "mpeg1video", "mpeg2video", "h263", "h263p", "flv", "theora", "vc1", "wmv1", "wmv2",
        "wmv3", "mjpeg", "prores", "dnxhd", "ffv1", "huffyuv", "utvideo", "rawvideo", "qtrle", "png", "cfhd", "svq3",
    ]

    /// This policy with the video decoders allowed too (re-encoding a video).
    var withVideo: InputPolicy {
        var p = self
        p.decoders += InputPolicy.videoDecoders
        return p
    }

    /// Pixels in one decoded picture (8192×4320): a lying header cannot make a huge one.
    var maxPixels = 8192 * 4320

    /// Bytes read to guess the format and stream parameters.
    var probeSize: Int64 = 5_000_000
    /// Microseconds of media read to find stream parameters.
    var analyzeDuration: Int64 = 10_000_000
    /// Streams a file may declare.
    var maxStreams = 64
    /// Samples in one decoded frame (a lying header cannot make a huge one).
    var maxSamplesPerFrame = 1 << 20

    /// Whether a probed demuxer ("mov,mp4,m4a,3gp,3g2,mj2") is allowed: one of its names is listed.
    func allows(formatNamed name: String) -> Bool {
        name.split(separator: ",").contains { formats.contains(String($0)) }
    }
}
