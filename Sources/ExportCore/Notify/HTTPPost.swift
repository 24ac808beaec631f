import Glibc

/// One HTTP/1.1 POST over a plain TCP socket (`http://` webhooks), bounded
/// by a deadline for everything after name resolution: connect, send, and
/// the response's status line. The body of the response is not read.
struct HTTPPost {
    var url: WebhookURL
    var headers: [(String, String)]
    var body: [UInt8]
    var timeout: Double

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Sends the request and returns the response's status code.
    func send() throws(Failure) -> Int {
        let deadline = Clock.monotonic() + timeout
        let fd = try connect(deadline: deadline)
        defer { Glibc.close(fd) }
        var request = "POST \(url.target) HTTP/1.1\r\nHost: \(url.hostHeader)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (k, v) in headers { request += "\(k): \(v)\r\n" }
        request += "\r\n"
        try write(fd, Array(request.utf8) + body, deadline: deadline)
        return try readStatus(fd, deadline: deadline)
    }

    private func connect(deadline: Double) throws(Failure) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(url.host, String(url.port), &hints, &list)
        if rc != 0 { throw Failure(description: "cannot resolve '\(url.host)': \(String(cString: gai_strerror(rc)))") }
        defer { freeaddrinfo(list) }
        var lastError = "no address"
        var ai = list
        while let a = ai {
            ai = a.pointee.ai_next
            let fd = socket(a.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            if fd < 0 { lastError = SystemError("socket").message; continue }
            if Glibc.connect(fd, a.pointee.ai_addr, a.pointee.ai_addrlen) == 0 { return fd }
            if errno == EINPROGRESS && wait(fd, Int16(POLLOUT), deadline: deadline) {
                var err: Int32 = 0
                var len = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                if err == 0 { return fd }
                lastError = String(cString: strerror(err))
            } else {
                lastError = errno == EINPROGRESS ? "timed out" : String(cString: strerror(errno))
            }
            Glibc.close(fd)
            if Clock.monotonic() >= deadline { break }
        }
        throw Failure(description: "cannot connect to \(url.hostHeader): \(lastError)")
    }

    /// Polls `fd` for `events` until the deadline; false on timeout or error.
    private func wait(_ fd: Int32, _ events: Int16, deadline: Double) -> Bool {
        while true {
            let left = deadline - Clock.monotonic()
            if left <= 0 { errno = ETIMEDOUT; return false }
            var p = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&p, 1, Int32(max(1, left * 1000)))
            if n > 0 { return true }
            if n == 0 { errno = ETIMEDOUT; return false }
            if errno != EINTR { return false }
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8], deadline: Double) throws(Failure) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { b in Sys.retry { Glibc.send(fd, b.baseAddress! + off, b.count - off, Int32(MSG_NOSIGNAL)) } }
            if n > 0 { off += n; continue }
            if n < 0 && errno == EAGAIN && wait(fd, Int16(POLLOUT), deadline: deadline) { continue }
            throw Failure(description: "cannot send the request: \(n < 0 && errno != EAGAIN ? String(cString: strerror(errno)) : "timed out")")
        }
    }

    private func readStatus(_ fd: Int32, deadline: Double) throws(Failure) -> Int {
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while got.firstIndex(of: 0x0a) == nil && got.count < 8192 {
            let n = buf.withUnsafeMutableBytes { b in Sys.retry { Glibc.recv(fd, b.baseAddress!, b.count, 0) } }
            if n > 0 { got += buf[0..<n]; continue }
            if n == 0 { break }
            if errno == EAGAIN && wait(fd, Int16(POLLIN), deadline: deadline) { continue }
            throw Failure(description: "no response within \(fmt(timeout)) s")
        }
        // "HTTP/1.1 204 No Content"
        let line = String(decoding: got.prefix { $0 != 0x0d && $0 != 0x0a }, as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...599).contains(code) else {
            throw Failure(description: got.isEmpty ? "the server closed the connection without a response" : "not an HTTP response: '\(line.prefix(80))'")
        }
        return code
    }
}
