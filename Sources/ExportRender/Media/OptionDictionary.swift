import CFFmpeg

/// An `AVDictionary` of options or tags (`av_dict_set` / `av_dict_free`).
///
/// FFmpeg functions that take `AVDictionary **` replace it with the entries
/// they did not use; `deinit` frees whatever it holds then.
final class OptionDictionary {
    var pointer: OpaquePointer?

    init(_ entries: [(String, String)] = []) {
        for (k, v) in entries { av_dict_set(&pointer, k, v, 0) }
    }

    deinit { av_dict_free(&pointer) }

    subscript(key: String) -> String? {
        get {
            guard let e = av_dict_get(pointer, key, nil, 0), let v = e.pointee.value else { return nil }
            return String(cString: v)
        }
        set { av_dict_set(&pointer, key, newValue, 0) }
    }
}
