import CFFmpeg

/// FFmpeg's own log on stderr.
public enum FFmpegLog {
    /// Logs at `AV_LOG_ERROR` and above, each line prefixed with `prefix`
    /// (the job id), written whole with one write(2).
    public static func install(prefix: String) {
        cffmpeg_log_install(prefix, AV_LOG_ERROR)
    }

    /// Only errors, with FFmpeg's default callback (tests, library use).
    public static func quiet() {
        av_log_set_level(AV_LOG_ERROR)
    }
}
