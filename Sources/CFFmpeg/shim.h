#ifndef CFFMPEG_SHIM_H
#define CFFMPEG_SHIM_H
// FFmpeg 5.1 for Swift: the headers, plus `static inline` helpers for what
// Swift cannot import (function-like and compound-literal macros, variadic
// functions, `void **` / `const uint8_t **` parameters, the AVFrame 8-tuples).
// _GNU_SOURCE is deliberately not defined: it changes glibc struct layouts
// seen by other modules.
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mathematics.h>
#include <libavutil/mem.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/imgutils.h>
#include <libavutil/display.h>
#include <libavutil/samplefmt.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

// MARK: - Error codes: AVERROR(e) and the FFERRTAG constants are macros.

static inline int cffmpeg_averror(int posix_errno) { return AVERROR(posix_errno); }
static inline int cffmpeg_averror_eof(void) { return AVERROR_EOF; }
static inline int cffmpeg_averror_exit(void) { return AVERROR_EXIT; }
static inline int cffmpeg_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int cffmpeg_averror_stream_not_found(void) { return AVERROR_STREAM_NOT_FOUND; }
static inline int cffmpeg_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }
static inline int cffmpeg_averror_encoder_not_found(void) { return AVERROR_ENCODER_NOT_FOUND; }

// MARK: - Time: AV_NOPTS_VALUE is a cast macro, AV_TIME_BASE_Q a compound literal.

static inline int64_t cffmpeg_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational cffmpeg_time_base_q(void) { return AV_TIME_BASE_Q; }

// MARK: - Logging

// av_log is variadic; this logs a preformatted message through "%s" (so a
// '%' in a file name is never read as a conversion).
static inline void cffmpeg_log(void *avcl, int level, const char *message) {
    av_log(avcl, level, "%s", message);
}

// The log callback receives a va_list, which Swift cannot forward. This one
// formats FFmpeg's line as the default callback does ("[mp3 @ 0x…] …") and
// writes it to stderr in one write(2), prefixed by the render's job id.
// Identical lines in a row (a damaged file can repeat one error thousands
// of times) are counted and summarised, like AV_LOG_SKIP_REPEATED.
// Only the exportctl-render executable installs it (one process, one prefix).
// The state lives in function-local statics: Swift emits a header's inline
// functions into the module that calls them, but not its file-scope statics.
typedef struct {
    char prefix[96];
    int at_line_start;
    char last[2048];
    int repeats;
} cffmpeg_log_state_t;

static inline cffmpeg_log_state_t *cffmpeg_log_state(void) {
    static cffmpeg_log_state_t state = { "", 1, "", 0 };
    return &state;
}

static inline void cffmpeg_log_write(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(2, p, n);
        if (w <= 0) return;  // stderr gone: nothing better to do with a log line
        p += w;
        n -= (size_t)w;
    }
}

static inline void cffmpeg_log_callback(void *avcl, int level, const char *fmt, va_list vl) {
    if (level > av_log_get_level()) return;
    cffmpeg_log_state_t *st = cffmpeg_log_state();
    char line[2048];
    size_t used = 0;
    if (st->at_line_start && st->prefix[0]) {
        used = strlen(st->prefix);
        memcpy(line, st->prefix, used);
    }
    int print_prefix = st->at_line_start;
    av_log_format_line2(avcl, level, fmt, vl, line + used, (int)(sizeof line - used), &print_prefix);
    used = strlen(line);
    if (used == 0) return;
    int complete = line[used - 1] == '\n';
    if (st->at_line_start && complete && strcmp(line, st->last) == 0) {
        st->repeats++;
        return;
    }
    if (st->repeats > 0) {
        char note[160];
        int n = snprintf(note, sizeof note, "%s    Last message repeated %d times\n", st->prefix, st->repeats);
        if (n > 0) cffmpeg_log_write(note, (size_t)n < sizeof note ? (size_t)n : sizeof note - 1);
        st->repeats = 0;
    }
    memcpy(st->last, line, used + 1);
    st->at_line_start = complete;
    cffmpeg_log_write(line, used);
}

// Installs the callback above with `prefix` ("" for none) at `level`.
static inline void cffmpeg_log_install(const char *prefix, int level) {
    cffmpeg_log_state_t *st = cffmpeg_log_state();
    size_t n = strlen(prefix);
    if (n > sizeof st->prefix - 1) n = sizeof st->prefix - 1;
    memcpy(st->prefix, prefix, n);
    st->prefix[n] = 0;
    st->at_line_start = 1;
    st->last[0] = 0;
    st->repeats = 0;
    av_log_set_level(level);
    av_log_set_callback(cffmpeg_log_callback);
}

// MARK: - Frames, FIFO and resampler: pointer shapes Swift cannot express.

// AVFrame.data is imported as an 8-tuple; extended_data is the pointer
// array every audio API wants (it equals data for <= 8 channels).
static inline uint8_t **cffmpeg_frame_planes(AVFrame *frame) { return frame->extended_data; }

// AVFrame.data and .linesize are 8-tuples in Swift: plane i of a video frame.
static inline uint8_t *cffmpeg_frame_data(AVFrame *frame, int plane) { return frame->data[plane]; }
static inline int cffmpeg_frame_linesize(const AVFrame *frame, int plane) { return frame->linesize[plane]; }

// Bytes per pixel in `plane` of a format (the step of a component stored there).
static inline int cffmpeg_plane_step(const AVPixFmtDescriptor *d, int plane) {
    for (int c = 0; c < d->nb_components; c++)
        if (d->comp[c].plane == plane) return d->comp[c].step;
    return 1;
}

// Plane pointers of `frame` offset to pixel (x, y); x and y even for 4:2:0.
static inline int cffmpeg_frame_offset(const AVFrame *frame, int x, int y, uint8_t *planes[4], int strides[4]) {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)frame->format);
    if (!d) return AVERROR(EINVAL);
    // Bit-packed pixels (monow) cannot be offset by bytes.
    if ((d->flags & AV_PIX_FMT_FLAG_BITSTREAM) && x != 0) return AVERROR(EINVAL);
    for (int i = 0; i < 4; i++) {
        planes[i] = 0;
        strides[i] = 0;
        if (!frame->data[i]) continue;
        // A palette (pal8's data[1]) is a table, not pixels: it stays where it is.
        if (i == 1 && (d->flags & AV_PIX_FMT_FLAG_PAL)) {
            planes[i] = frame->data[i];
            strides[i] = frame->linesize[i];
            continue;
        }
        int chroma = (i == 1 || i == 2) && !(d->flags & AV_PIX_FMT_FLAG_RGB);
        int sx = chroma ? x >> d->log2_chroma_w : x, sy = chroma ? y >> d->log2_chroma_h : y;
        planes[i] = frame->data[i] + sy * frame->linesize[i] + sx * cffmpeg_plane_step(d, i);
        strides[i] = frame->linesize[i];
    }
    return 0;
}

// sws_scale takes `const uint8_t *const[]` sources and `int[]` strides: the
// frame-to-frame case, from the rectangle of `src` at (sx, sy) that is `sh`
// rows tall (the context's source size) into `dst` at (dx, dy) (the
// context's destination size). Offsets must be even for 4:2:0 frames.
static inline int cffmpeg_sws_scale_frames(struct SwsContext *sws, const AVFrame *src, int sx, int sy, int sh,
                                           AVFrame *dst, int dx, int dy) {
    uint8_t *in[4], *out[4];
    int in_stride[4], out_stride[4];
    int ret = cffmpeg_frame_offset(src, sx, sy, in, in_stride);
    if (ret < 0) return ret;
    ret = cffmpeg_frame_offset(dst, dx, dy, out, out_stride);
    if (ret < 0) return ret;
    return sws_scale(sws, (const uint8_t *const *)in, in_stride, 0, sh, out, out_stride);
}

// av_audio_fifo_write/read take `void **`.
static inline int cffmpeg_fifo_write(AVAudioFifo *fifo, uint8_t **planes, int nb_samples) {
    return av_audio_fifo_write(fifo, (void **)planes, nb_samples);
}
static inline int cffmpeg_fifo_read(AVAudioFifo *fifo, uint8_t **planes, int nb_samples) {
    return av_audio_fifo_read(fifo, (void **)planes, nb_samples);
}

// swr_convert takes `const uint8_t **` input planes; NULL input flushes.
static inline int cffmpeg_swr_convert(SwrContext *swr, uint8_t **out, int out_count,
                                      uint8_t **in, int in_count) {
    return swr_convert(swr, out, out_count, (const uint8_t **)in, in_count);
}

// MARK: - Packet side data

// AV_PKT_DATA_SKIP_SAMPLES holds two little-endian uint32 (samples to skip at
// the start, samples to discard at the end); AV_RL32 is a macro. Returns 1
// and fills both when the packet carries it, else 0.
static inline int cffmpeg_packet_skip_samples(const AVPacket *pkt, uint32_t *start, uint32_t *end) {
    size_t size = 0;
    const uint8_t *p = av_packet_get_side_data(pkt, AV_PKT_DATA_SKIP_SAMPLES, &size);
    if (!p || size < 8) return 0;
    *start = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    *end = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
    return 1;
}

#endif
