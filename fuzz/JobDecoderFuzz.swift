// libFuzzer harness for the job file decoder. `make fuzz` compiles it with
// Sources/ExportCore into one module (`swiftc -sanitize=fuzzer,address`) and
// runs it over fuzz/corpus; `make test` runs it for a short while.
//
// Each input is decoded as a submitted job (relative paths against a folder
// under the input root) and as a stored job, both with input and output
// roots and without looking at files. A crash, a sanitizer report, or an
// accepted job with a path that is not absolute and normalised, holds `..`,
// `.`, a NUL, a line break or a `scheme:` prefix, or lies outside its root,
// stops the run with the input saved (libFuzzer's crash-… file).
import Glibc

let inputRoot = "/fuzz-roots/in", outputRoot = "/fuzz-roots/out"
let roots = PathRoots(input: [inputRoot], output: [outputRoot])
let submitted = JobDecoder(mode: .submitted, baseDirectory: inputRoot + "/work", checkFiles: false, roots: roots)
let stored = JobDecoder(mode: .stored, baseDirectory: "/", checkFiles: false, roots: roots)

func violation(_ what: String, _ job: Job) -> Never {
    Sys.print("JobDecoderFuzz: accepted a job with \(what)\n\(job.storedJSON().jsonText())\n", fd: 2)
    abort()
}

/// The rules every accepted path must keep, checked without PathRoots or PathRules' own code.
func check(_ job: Job) {
    for (field, path, use) in job.paths {
        let bytes = Array(path.utf8)
        if bytes.contains(0) || bytes.contains(0x0a) || bytes.contains(0x0d) { violation("a NUL or line break in \(field)", job) }
        guard path.hasPrefix("/") else { violation("a relative \(field) '\(path)'", job) }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if parts.contains("..") || parts.contains(".") || parts.contains("") { violation("an unnormalised \(field) '\(path)'", job) }
        let root = use == .input ? inputRoot : outputRoot
        guard path.hasPrefix(root + "/") else { violation("\(field) '\(path)' outside \(root)", job) }
        if let colon = path.firstIndex(of: ":"), !path[..<colon].contains("/") { violation("a scheme-like \(field) '\(path)'", job) }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for decoder in [submitted, stored] {
        guard var job = try? decoder.decode(bytes, name: "fuzz.json") else { continue }
        check(job)
        // The stored form of an accepted job is accepted again, as the same job.
        job.user = nil
        guard let again = try? stored.decode(Array(job.storedJSON().jsonText().utf8), name: "stored.json") else {
            violation("a stored form that does not decode", job)
        }
        check(again)
        if again != job { violation("a stored form that decodes to a different job", job) }
    }
    return 0
}
