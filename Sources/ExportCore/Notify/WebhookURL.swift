/// Where a webhook is posted: an `http://` or `https://` URL, checked at submit.
public struct WebhookURL: Sendable, Equatable, CustomStringConvertible {
    public var secure: Bool
    public var host: String
    public var port: Int
    /// Path and query, starting with `/`.
    public var target: String

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        let defaultPort = secure ? 443 : 80
        return (secure ? "https://" : "http://") + h + (port == defaultPort ? "" : ":\(port)") + target
    }

    /// The value of the Host header.
    var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? h : "\(h):\(port)"
    }

    static let maxLength = 2048

    /// Parses `text`, or returns why it is not a usable webhook URL.
    public static func parse(_ text: String) -> Result<WebhookURL, URLProblem> {
        func bad(_ why: String) -> Result<WebhookURL, URLProblem> { .failure(URLProblem(message: why)) }
        if text.utf8.count > maxLength { return bad("longer than \(maxLength) bytes") }
        if text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7f || $0 >= 0x80 }) {
            return bad("contains a space, a control character or a non-ASCII byte; percent-encode it")
        }
        let lower = text.lowercased()
        let secure: Bool
        let rest: Substring
        if lower.hasPrefix("http://") { secure = false; rest = text.dropFirst(7) }
        else if lower.hasPrefix("https://") { secure = true; rest = text.dropFirst(8) }
        else { return bad("'\(text)' is not an http:// or https:// URL") }
        if rest.contains("#") { return bad("has a fragment ('#…'), which is never sent; remove it") }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }
        if authority.contains("@") { return bad("has a user name or password; they are not sent, and the body is signed instead") }
        var host = Substring(""), portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return bad("has an unclosed '[' in its host") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return bad("has text after its IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        if host.isEmpty { return bad("has no host") }
        var port = secure ? 443 : 80
        if let p = portText {
            guard let n = Int(p), (1...65535).contains(n) else { return bad("port '\(p)' is not a number 1…65535") }
            port = n
        }
        return .success(WebhookURL(secure: secure, host: String(host).lowercased(), port: port, target: target))
    }

    public struct URLProblem: Error, Sendable { public var message: String }
}
