import ArgumentParser
import ExportCore
import Glibc

extension Exportctl {
    /// `exportctl submit`: validate job files (or a template and rows of data) and queue them, printing one id each.
    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit",
            abstract: "Validate job files and queue them; print one job id per job.",
            discussion: """
            All jobs are validated first; if any is invalid, none is queued (exit 65, or 66 for a missing input). \
            With --template T --data ROWS, one job is made per row of ROWS (JSON Lines, or CSV with a header row) \
            by filling T's {{placeholders}}.
            """)

        @OptionGroup var spoolOption: SpoolOption
        @Argument(help: ArgumentHelp("Job files; '-' reads one job from standard input (the default without --template).", valueName: "file"))
        var files: [String] = []
        @Option(help: ArgumentHelp("A template (a name in SPOOL/templates/, or a path with a '/'): submit one job per row of --data.", valueName: "template"))
        var template: String?
        @Option(help: ArgumentHelp("With --template: the rows, one JSON object per line, or a .csv file with a header row; '-' for standard input.", valueName: "rows"))
        var data: String?
        @Flag(help: "Give each job without an idempotencyKey one derived from the job, its inputs' content and the renderer's version: the same work submitted again returns the earlier job.")
        var dedupe = false
        @Flag(help: "Print one JSON object per job ({\"id\",\"file\",…}).") var json = false
        @Flag(help: "Wait until the jobs finish, then exit like 'wait'.") var wait = false
        @Option(help: ArgumentHelp("With --wait: give up after this many seconds (exit 124).", valueName: "seconds"))
        var timeout: Double?

        func validate() throws {
            if timeout != nil && !wait { throw ValidationError("--timeout goes with --wait") }
            if let t = timeout, t < 0 { throw ValidationError("--timeout must be ≥ 0") }
            if (template == nil) != (data == nil) { throw ValidationError("--template and --data go together") }
            if template != nil && !files.isEmpty { throw ValidationError("give either job files or --template with --data, not both") }
        }

        /// One job to queue and where it came from, for messages and --json.
        struct Item {
            var job: Job
            var file: String
            var line: Int?
            /// How messages name it: `job.json`, `<stdin>`, `rows.csv:4`.
            var name: String {
                let f = file == "-" ? "<stdin>" : file
                return line.map { "\(f):\($0)" } ?? f
            }
        }

        func run() throws {
            try Request(spool: spoolOption.resolved, files: files, template: template, data: data,
                        dedupe: dedupe, json: json, wait: wait, timeout: timeout).run()
        }
    }
}

extension Exportctl.Submit {
    /// A parsed `submit` (by swift-argument-parser, or by `QuickParse` for plain argument lists): what it does.
    struct Request {
        var spool: Spool
        var files: [String] = []
        var template: String? = nil
        var data: String? = nil
        var dedupe = false
        var json = false
        var wait = false
        var timeout: Double? = nil

        func run() throws {
            let cwd = currentDirectory()
            // The spool's roots confine every path at submit (invalid settings: exit 78).
            let roots: PathRoots
            do { roots = try spool.settings().roots } catch { throw fail("\(error)", ExitStatus.config) }
            var decoder = JobDecoder(mode: .submitted, baseDirectory: cwd, roots: roots)
            decoder.outputMayExist = true  // applied below, to the jobs that are really queued
            let templates = spool.path("templates")
            var items: [Item] = []
            var errors: [JobError] = []
            var sources = 0

            if let template, let data {
                let dataName = data == "-" ? "<stdin>" : data
                let loaded = Result { () throws(JobError) in
                    (try JobTemplate.load(template, templatesDirectory: templates, cwd: cwd, referrer: "--template", field: nil),
                     try BatchData.rows(try read(data, name: dataName), name: dataName, format: BatchData.format(forName: data)))
                }
                guard case let .success((t, rows)) = loaded else {
                    if case let .failure(e) = loaded { throw fail(e.description, exitStatus(for: e)) }
                    return
                }
                sources = rows.count
                for row in rows {
                    let name = "\(dataName):\(row.line)"
                    do {
                        let job = try decoder.decode(t.fill(row.data, name: name), name: name)
                        items.append(Item(job: try mediaChecked(job, name: name, roots: roots), file: data, line: row.line))
                    } catch let e as JobError {
                        errors.append(e)
                    }
                }
            } else {
                let files = self.files.isEmpty ? ["-"] : self.files
                if files.filter({ $0 == "-" }).count > 1 { throw fail("'-' (standard input) can be given once", ExitStatus.usage) }
                sources = files.count
                for file in files {
                    let name = file == "-" ? "<stdin>" : file
                    do {
                        let job = try decoder.decode(try read(file, name: name), name: name, templatesDirectory: templates)
                        items.append(Item(job: try mediaChecked(job, name: name, roots: roots), file: file))
                    } catch let e as JobError {
                        errors.append(e)
                    }
                }
            }
            if !errors.isEmpty {
                for e in errors { Sys.print("exportctl: \(e)\n", fd: 2) }
                if sources > 1 { Sys.print("exportctl: nothing was queued\n", fd: 2) }
                throw ExitCode(errors.contains { $0.category != .missingInput } ? ExitStatus.invalidJob : ExitStatus.noInput)
            }
            if SharedSpool.mustDrop(spool) { return try dropShared(items, spool: spool, decoder: decoder, sources: sources) }
            if dedupe { try deriveKeys(&items) }
            let results: [Submitter.Submission]
            do {
                results = try Submitter(spool: spool).queue(items.map(\.job)) { fresh in
                    fresh.compactMap { decoder.existingOutput(items[$0].job, name: items[$0].name) }
                }
            } catch {
                if case let .refused(errors) = error {
                    for e in errors { Sys.print("exportctl: \(e)\n", fd: 2) }
                    if sources > 1 { Sys.print("exportctl: nothing was queued\n", fd: 2) }
                    throw ExitCode(exitStatus(for: error))
                }
                throw fail(error.description, exitStatus(for: error))
            }
            let ids = results.map(\.id)
            let estimator = Estimator.load(spool, groups: Set(items.map { Estimator.group(of: $0.job) }))
            let estimates = items.map { estimator.estimate($0.job) }
            var out = "", notes = ""
            for ((r, item), est) in zip(zip(results, items), estimates) {
                let name = item.name
                if let earlier = r.earlier {
                    notes += earlier == .completed
                        ? "exportctl: \(name): the same work completed as \(r.id) and its output is unchanged; not rendered again\n"
                        : "exportctl: \(name): the same work is already \(earlier.rawValue) as \(r.id); not queued again\n"
                }
                if json {
                    out += JSONValue.compactObject([
                        ("id", .string(r.id.rawValue)),
                        ("file", .string(item.file)),
                        ("line", item.line.map { .int(Int64($0)) }),
                        ("duplicate", r.earlier == nil ? nil : .bool(true)),
                        ("state", r.earlier.map { .string($0.rawValue) }),
                        ("estimatedSeconds", r.earlier == nil ? .double((est.seconds * 10).rounded() / 10) : nil),
                        ("estimateBasis", r.earlier == nil ? .int(Int64(est.basis)) : nil),
                    ]).jsonText() + "\n"
                } else {
                    out += r.id.rawValue + "\n"
                }
            }
            Sys.print(out)
            if !notes.isEmpty && !json { Sys.print(notes, fd: 2) }
            let fresh = zip(results, estimates).filter { $0.0.earlier == nil }.map(\.1)
            if !json && !fresh.isEmpty {
                let total = fresh.reduce(0) { $0 + $1.seconds }
                let learned = fresh.map(\.basis).max() ?? 0
                let basis = learned > 0 ? "learned from \(learned) render\(learned == 1 ? "" : "s")" : "default estimate, no history yet"
                // The time until they are done is `status`'s ETA: it reads the whole queue, which submit does not.
                Sys.print("exportctl: \(fresh.count == 1 ? "1 job" : "\(fresh.count) jobs") queued; estimated \(Format.seconds(total)) of rendering (\(basis))\n", fd: 2)
            }
            if wait { try waitForJobs(spool: spool, ids: ids, timeout: timeout, json: false, printFinal: false) }
        }

        /// A member of a shared spool's group: the jobs go into `drop/`, where the daemon takes them in,
        /// within the queue cap and this uid's limits (no idempotency or estimate: those need the spool's private files).
        private func dropShared(_ items: [Item], spool: Spool, decoder: JobDecoder, sources: Int) throws {
            let exists = items.compactMap { decoder.existingOutput($0.job, name: $0.name) }
            if !exists.isEmpty {
                for e in exists { Sys.print("exportctl: \(e)\n", fd: 2) }
                if sources > 1 { Sys.print("exportctl: nothing was queued\n", fd: 2) }
                throw ExitCode(ExitStatus.invalidJob)
            }
            do { try SharedSpool.checkLimits(items.map(\.job), in: spool) } catch { throw fail(error.description, exitStatus(for: error)) }
            let ids: [JobID]
            do { ids = try SharedSpool.drop(items.map(\.job), into: spool) } catch {
                throw fail("cannot drop the jobs into \(spool.path(SharedSpool.dropDirectory)): \(error)", ExitStatus.ioError)
            }
            var out = ""
            for (id, item) in zip(ids, items) {
                out += json ? JSONValue.compactObject([("id", .string(id.rawValue)), ("file", .string(item.file)),
                                                        ("line", item.line.map { .int(Int64($0)) })]).jsonText() + "\n" : id.rawValue + "\n"
            }
            Sys.print(out)
            if wait { try waitForJobs(spool: spool, ids: ids, timeout: timeout, json: false, printFinal: false) }
        }

        /// Gives every job without an `idempotencyKey` the key of its work (`WorkKey`).
        private func deriveKeys(_ items: inout [Item]) throws {
            let version: String
            do { version = try RendererVersion.read() } catch { throw fail(error.message, ExitStatus.unavailable) }
            for i in items.indices where items[i].job.idempotencyKey == nil {
                do { items[i].job.idempotencyKey = try WorkKey.derive(items[i].job, rendererVersion: version) } catch {
                    throw fail("--dedupe: cannot hash an input: \(error)", error.errno == ENOENT ? ExitStatus.noInput : ExitStatus.ioError)
                }
            }
        }

        /// `job` once its media passed `MediaCheck`; a problem with the job is a
        /// `JobError`, a check that cannot run exits 69 or 74.
        private func mediaChecked(_ job: Job, name: String, roots: PathRoots) throws -> Job {
            do {
                var job = job
                let probed = MediaCheck.isNeeded(for: job) ? try MediaCheck.run(job, name: name, roots: roots) : nil
                job.expectedMediaSeconds = Estimator.expectedMediaSeconds(of: job, probed: probed)
                return job
            } catch let e as MediaCheck.Unavailable {
                throw fail(e.message, ExitStatus.unavailable)
            } catch let e as SystemError {
                throw fail("cannot check the media of \(name): \(e)", ExitStatus.ioError)
            }
        }

        /// A job or data file's bytes (at most 1 MiB for a job, 64 MiB for data), or a `JobError` naming it.
        private func read(_ file: String, name: String) throws(JobError) -> [UInt8] {
            let limit = template == nil ? Job.maxFileBytes : 64 << 20
            do { return file == "-" ? try Sys.readAll(0, limit: limit, path: name) : try Sys.readFile(file, limit: limit) } catch {
                if error.errno == EFBIG {
                    throw JobError(file: name, message: template == nil ? "larger than 1 MiB; a job file is a small JSON object" : "larger than 64 MiB")
                }
                throw JobError(file: name, message: error.errno == ENOENT ? "no such file" : error.message.lowercased(), category: .missingInput)
            }
        }
    }
}
