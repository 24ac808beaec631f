import ExportCore

/// The JSON objects of the render child's event stream (one per line).
public enum RenderEvent {
    /// `{"event":"progress","progress":0.4213,"stage":"encoding"}`; progress 0…1 with four decimals.
    public static func progress(_ fraction: Double, stage: RenderStage) -> JSONValue {
        let p = (min(1, max(0, fraction)) * 10_000).rounded() / 10_000
        return .object([("event", .string("progress")), ("progress", .double(p)), ("stage", .string(stage.rawValue))])
    }

    /// `{"event":"error","code":"no-audio","message":"…","transient":false}`
    public static func error(_ e: RenderError) -> JSONValue {
        .object([("event", .string("error")), ("code", .string(e.code)),
                 ("message", .string(e.description)), ("transient", .bool(e.isTransient))])
    }
}
