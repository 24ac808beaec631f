/// An `https://` webhook, posted by curl(1) in a child process: TLS stays out
/// of the exportctl binary (which starts in milliseconds and never links a TLS
/// library) and out of the daemon's address space.
///
/// curl gets a fixed environment (no proxy variables, no ~/.curlrc), https only,
/// no redirects, the same timeout as plain http, and the body on its stdin.
struct CurlPost {
    var request: HTTPPost
    var caFile: String?

    static let interrupted = "interrupted: the daemon was stopping"
    static let executable = "curl"

    func send(shouldStop: () -> Bool) -> Result<Int, HTTPPost.Failure> {
        var argv = [CurlPost.executable, "-q", "--silent", "--show-error", "--proto", "=https", "--max-redirs", "0",
                    "--max-time", fmt(request.timeout), "--output", "/dev/null", "--write-out", "%{http_code}",
                    "--data-binary", "@-", "--header", "Expect:"]
        for (k, v) in request.headers { argv += ["--header", "\(k): \(v)"] }
        if let caFile { argv += ["--cacert", caFile] }
        argv.append(request.url.description)
        var output: [UInt8] = []
        let command = ChildCommand(argv: argv, environment: ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent"],
                                   directory: "/", timeout: request.timeout + 5)
        let outcome = command.run(input: request.body, output: -1, onOutput: { output += $0.prefix(max(0, 4096 - output.count)) }, shouldStop: shouldStop)
        let text = String(decoding: output, as: UTF8.self)
        switch outcome {
        case .interrupted: return .failure(.init(description: CurlPost.interrupted))
        case .exited(0):
            guard let code = Int(text.suffix(3)), (100...599).contains(code) else {
                return .failure(.init(description: "curl printed no status code: '\(text.prefix(200))'"))
            }
            return .success(code)
        case .notStarted:
            return .failure(.init(description: "https webhooks are posted by curl(1), which could not be run (\(outcome)); install the curl package"))
        default:
            // --write-out prints 000 after the error message when there was no response.
            let message = text.hasSuffix("000") ? String(text.dropLast(3)) : text
            return .failure(.init(description: message.trimmingNewlines.isEmpty ? "curl \(outcome)" : message.trimmingNewlines))
        }
    }
}

extension String {
    fileprivate var trimmingNewlines: String {
        var s = Substring(self)
        while let l = s.last, l == "\n" || l == "\r" || l == " " { s = s.dropLast() }
        return String(s)
    }
}
