import CFFmpeg
import ExportCore

/// What this machine's FFmpeg and fontconfig offer the renders, for
/// `exportctl health` (which never links FFmpeg and asks
/// `exportctl-render --check-system` instead).
public enum SystemCheck {
    /// `{"event":"system","encoders":{NAME:BOOL…},"muxers":{…},"fonts":{FAMILY:BOOL…}}`: whether each
    /// encoder and muxer is in the linked FFmpeg and each font family (the default one and `fonts`) is installed.
    public static func event(fonts: [String]) -> JSONValue {
        var families = [TextStyle.defaultFont]
        for f in fonts where !families.contains(f) { families.append(f) }
        return .object([
            ("event", .string("system")),
            ("encoders", .object(HealthCheck.encoders.map { ($0.name, .bool(avcodec_find_encoder_by_name($0.name) != nil)) })),
            ("muxers", .object(HealthCheck.muxers.map { ($0.name, .bool(av_guess_format($0.name, nil, nil) != nil)) })),
            ("fonts", .object(families.map { ($0, .bool(FontCatalog.isInstalled(family: $0))) })),
            ("ffmpeg", .string(String(cString: av_version_info()))),
        ])
    }
}
