import CFontconfig

/// The installed fonts as fontconfig sees them: the one lookup behind the
/// submit-time font check (`JobCheck`) and the text layer (`TextLayer`), so
/// what `submit` accepts is what libass finds at render.
enum FontCatalog {
    /// The names of one face of a font file, as `FcFreeTypeQuery` reads them.
    struct Face: Equatable {
        var family: String
        var fullName: String?

        /// The name libass selects exactly this face by: the full name (libass
        /// matches full names as well as families), else the family. A family
        /// alone would pick the family's regular face, not the bold one of a file.
        var selectionName: String { fullName ?? family }
    }

    /// Generic names that fontconfig's configuration maps to an installed family;
    /// libass resolves them through the same configuration (its fontconfig substitutions).
    static let genericFamilies: Set<String> = ["sans-serif", "sans", "serif", "monospace", "mono"]

    /// Whether `family` is an installed font family or a generic name.
    ///
    /// Calls `FcConfigSubstitute`, `FcDefaultSubstitute` and `FcFontMatch`, and
    /// compares every `FC_FAMILY` of the match with `family`, ignoring ASCII case
    /// as libass does. fontconfig always returns *some* font, so a match of
    /// another family means `family` is not installed.
    static func isInstalled(family: String) -> Bool {
        if genericFamilies.contains(asciiLowercased(family)) { return true }
        guard let pattern = FcPatternCreate() else { return false }
        defer { FcPatternDestroy(pattern) }
        let added = family.withCString { name in
            name.withMemoryRebound(to: FcChar8.self, capacity: family.utf8.count + 1) { FcPatternAddString(pattern, FC_FAMILY, $0) }
        }
        guard added != 0, FcConfigSubstitute(nil, pattern, FcMatchPattern) != 0 else { return false }
        FcDefaultSubstitute(pattern)
        var result = FcResultNoMatch
        guard let match = FcFontMatch(nil, pattern, &result) else { return false }
        defer { FcPatternDestroy(match) }
        let wanted = asciiLowercased(family)
        return strings(FC_FAMILY, of: match).contains { asciiLowercased($0) == wanted }
    }

    /// The names of the first face in the font file at `path` (`FcFreeTypeQuery`),
    /// or nil when FreeType cannot read it as a font (or it cannot be read at all).
    static func face(inFile path: String) -> Face? {
        var count: Int32 = 0
        let pattern = path.withCString { p in
            p.withMemoryRebound(to: FcChar8.self, capacity: path.utf8.count + 1) { FcFreeTypeQuery($0, 0, nil, &count) }
        }
        guard let pattern else { return nil }
        defer { FcPatternDestroy(pattern) }
        guard let family = strings(FC_FAMILY, of: pattern).first else { return nil }
        return Face(family: family, fullName: strings(FC_FULLNAME, of: pattern).first)
    }

    /// Every value of the string property `object` of `pattern` (`FcPatternGetString`).
    private static func strings(_ object: String, of pattern: OpaquePointer) -> [String] {
        var out: [String] = []
        var i: Int32 = 0
        var value: UnsafeMutablePointer<FcChar8>?
        while FcPatternGetString(pattern, object, i, &value) == FcResultMatch, let value {
            out.append(String(cString: value))
            i += 1
        }
        return out
    }

    /// A–Z to a–z only, like libass's `ass_strcasecmp`.
    static func asciiLowercased(_ s: String) -> String {
        String(decoding: s.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}
