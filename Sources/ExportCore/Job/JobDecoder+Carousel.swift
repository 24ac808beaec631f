/// The carousel fields of a job file: size, format, text style, slides.
extension JobDecoder {
    static let carouselFields: Set<String> = ["width", "height", "size", "format", "quality", "style", "minFontSize", "pageNumbers", "slides"]
    static let carouselSlideFields: Set<String> = ["image", "fit", "focus", "background", "text", "textPosition", "style"]
    /// Style members only a carousel has (the slide's colour and the text's padding box).
    static let carouselStyleFields: Set<String> = ["background", "padding"]

    func carouselOptions(_ root: JSONValue, name: String) throws(JobError) -> CarouselOptions {
        func fail(_ field: String, _ msg: String) -> JobError { JobError(file: name, field: field, message: msg) }
        var width = 1080, height = 1350
        if let v = root["size"] {
            guard let s = v.stringValue, let p = CarouselOptions.sizePresets.first(where: { $0.name == s }) else {
                throw fail("size", "expected one of \(CarouselOptions.sizePresets.map { "\"\($0.name)\" (\($0.width)x\($0.height))" }.joined(separator: ", "))")
            }
            if root["width"] != nil || root["height"] != nil { throw fail("size", "give either \"size\" or \"width\" and \"height\", not both") }
            (width, height) = (p.width, p.height)
        } else {
            guard root["width"] != nil, root["height"] != nil else {
                throw fail(root["width"] == nil ? "width" : "height", "missing; give \"width\" and \"height\" in pixels, or a \"size\" such as \"portrait\" (1080x1350)")
            }
            width = try dimension(root, "width", name: name, why: "(the sizes posts are made in, and what JPEG, WebP and video tools expect)")
            height = try dimension(root, "height", name: name, why: "(the sizes posts are made in, and what JPEG, WebP and video tools expect)")
        }
        var format = CarouselOptions.Format.png
        if let v = root["format"] {
            guard let s = v.stringValue, let f = CarouselOptions.Format(rawValue: s) else {
                throw fail("format", "expected one of \(CarouselOptions.Format.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")) (got \(show(v)))")
            }
            format = f
        }
        var quality = CarouselOptions.defaultQuality
        if let v = root["quality"] {
            guard let q = v.intValue, (1...100).contains(q) else { throw fail("quality", "must be an integer from 1 to 100 (got \(show(v)))") }
            guard format != .png else { throw fail("quality", "applies to \"jpeg\", \"webp\" and \"pdf\"; PNG is lossless") }
            quality = Int(q)
        }
        var background: Color?
        var padding: Double?
        var style = TextStyle()
        if let v = root["style"] {
            (style, background, padding) = try carouselStyle(v, field: "style", name: name, width: width, height: height)
        }
        var o = CarouselOptions(width: width, height: height, format: format, quality: quality, padding: padding, style: style)
        if let background { o.background = background }
        if let v = root["minFontSize"] {
            guard let d = v.doubleValue, (4...1000).contains(d) else { throw fail("minFontSize", "must be a number from 4 to 1000 (got \(show(v)))") }
            o.minFontSize = d
        }
        if let v = root["pageNumbers"] {
            guard let b = v.boolValue else { throw fail("pageNumbers", "expected true or false, got \(v.typeName)") }
            o.pageNumbers = b
        }
        guard let v = root["slides"] else { throw fail("slides", "missing; give 1 to \(CarouselOptions.maxSlides) slides, each an \"image\", a \"text\" or both") }
        guard case let .array(items) = v, !items.isEmpty else { throw fail("slides", "expected a non-empty array of slides") }
        guard items.count <= CarouselOptions.maxSlides else {
            throw fail("slides", "at most \(CarouselOptions.maxSlides) slides in a carousel (got \(items.count))")
        }
        for (i, item) in items.enumerated() {
            o.slides.append(try carouselSlide(item, field: "slides[\(i)]", name: name, width: width, height: height))
        }
        return o
    }

    /// A style object with the carousel's two extra members taken out.
    private func carouselStyle(_ v: JSONValue, field f: String, name: String, width: Int,
                               height: Int) throws(JobError) -> (TextStyle, Color?, Double?) {
        guard case let .object(pairs) = v else { throw JobError(file: name, field: f, message: "expected an object of style fields, got \(v.typeName)") }
        let rest = JSONValue.object(pairs.filter { !JobDecoder.carouselStyleFields.contains($0.0) })
        let style = try self.style(rest, field: f, name: name)
        let background = try v["background"].map { (x) throws(JobError) in try color(x, field: "\(f).background", name: name) }
        var padding: Double?
        if let x = v["padding"] {
            let limit = Double(min(width, height)) / 2 - 8
            guard let d = x.doubleValue, d >= 0, d < limit else {
                throw JobError(file: name, field: "\(f).padding", message: "must be a number from 0 to less than \(fmt(limit)) pixels (got \(show(x)))")
            }
            padding = d
        }
        return (style, background, padding)
    }

    private func carouselSlide(_ v: JSONValue, field f: String, name: String, width: Int, height: Int) throws(JobError) -> CarouselSlide {
        guard case let .object(pairs) = v else { throw JobError(file: name, field: f, message: "expected an object with an \"image\" or a \"text\", got \(v.typeName)") }
        for (k, _) in pairs where !JobDecoder.carouselSlideFields.contains(k) {
            let hint = nearest(k, in: JobDecoder.carouselSlideFields).map { "; did you mean \"\($0)\"?" } ?? ""
            throw JobError(file: name, field: "\(f).\(k)", message: "unknown field\(hint)")
        }
        var s = CarouselSlide()
        if let i = v["image"] { s.image = try pathValue(i, field: "\(f).image", name: name) }
        if let t = v["text"] { s.text = try text(t, field: "\(f).text", name: name) }
        guard s.image != nil || !(s.text ?? "").isEmpty else {
            throw JobError(file: name, field: f, message: "give an \"image\", a \"text\" or both")
        }
        if let b = v["background"] { s.background = try color(b, field: "\(f).background", name: name) }
        if let m = v["fit"] { s.fit = try fitMode(m, field: "\(f).fit", name: name) }
        if let p = v["focus"] {
            guard let x = p["x"]?.doubleValue, let y = p["y"]?.doubleValue, (0...1).contains(x), (0...1).contains(y) else {
                throw JobError(file: name, field: "\(f).focus", message: "expected {\"x\": 0…1, \"y\": 0…1} (0,0 is the top left)")
            }
            s.focus = FocusPoint(x: x, y: y)
        }
        if let st = v["style"] {
            let (style, bg, pad) = try carouselStyle(st, field: "\(f).style", name: name, width: width, height: height)
            if pad != nil { throw JobError(file: name, field: "\(f).style.padding", message: "is set for the whole carousel, in the job's \"style\"") }
            s.style = style
            if let bg { s.background = s.background ?? bg }
        }
        if let x = v["textPosition"] {
            guard let p = x.stringValue.flatMap(TextStyle.Position.init(rawValue:)) else {
                throw JobError(file: name, field: "\(f).textPosition", message: "expected \"top\", \"middle\" or \"bottom\", got \(show(x))")
            }
            s.style.position = p
        }
        return s
    }
}
