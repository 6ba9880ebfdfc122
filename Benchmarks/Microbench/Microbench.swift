import Foundation
import HTTPTypes
import JSONSchema
import RouteHost

/// In-process microbenchmarks: JSON Schema validation and manifest loading.
///
/// ```
/// routehost-microbench --repo . [--manifest PATH]... [--seconds 0.3] [--json out.json]
/// ```
///
/// Each case is calibrated to run about `--seconds`, then timed over five rounds; the table
/// shows the best round (the least disturbed by other work on the machine) and the median.
/// Cases, for the YouTube info schema (`schemas/youtube-info.json`) and a larger media schema
/// (`Benchmarks/schemas/media-large.json`), each with a valid and an invalid payload
/// (`Benchmarks/payloads/`), format assertion on as in the host:
/// - `isValid`: stops at the first error; the instance is already parsed.
/// - `validate`: collects every error.
/// - `parse+isValid`: the request body's bytes parsed, then `isValid` (what a request costs).
/// and `ManifestLoader.load(path:)` for every `--manifest` given (routes.json by default), and
/// the job store's insert of finished synchronous jobs (``JobStoreBench``), and the rate-limit
/// step's own work (a bucket and three header fields; its wrk figure moves by ±3 % between runs).
@main
struct Microbench {
    struct Result: Codable {
        var name: String
        var perSecond: Double
        var medianPerSecond: Double
        var nanosecondsPerOp: Double
        /// The process's CPU time per operation, every thread included (job store cases).
        var cpuMicrosecondsPerOp: Double?
    }

    static func main() async throws {
        var repo = "."
        var manifests: [String] = []
        var seconds = 0.3
        var jsonPath: String?
        var filter: String?
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--repo": repo = arguments.next() ?? repo
            case "--manifest": manifests.append(arguments.next() ?? "")
            case "--seconds": seconds = Double(arguments.next() ?? "") ?? seconds
            case "--json": jsonPath = arguments.next()
            case "--filter": filter = arguments.next()
            default:
                FileHandle.standardError.write(Data("usage: routehost-microbench [--repo DIR] [--manifest PATH]... [--seconds S] [--json FILE] [--filter TEXT]\n".utf8))
                exit(2)
            }
        }
        if manifests.isEmpty { manifests = ["\(repo)/routes.json"] }

        var results: [Result] = []
        func run(_ name: String, _ body: () -> Int) {
            if let filter, !name.contains(filter) { return }
            let result = measure(name: name, seconds: seconds, body)
            results.append(result)
            let padded = name.count < 48 ? name + String(repeating: " ", count: 48 - name.count) : name
            print(padded + String(format: " %14.0f /s  (median %12.0f /s, %10.1f ns/op)",
                                  result.perSecond, result.medianPerSecond, result.nanosecondsPerOp))
        }

        let options = SchemaOptions(formatAssertion: true)
        let cases: [(label: String, schema: String, payloads: [(String, String)])] = [
            ("youtube-info", "\(repo)/schemas/youtube-info.json",
             [("valid", "\(repo)/Benchmarks/payloads/info-valid.json"), ("invalid", "\(repo)/Benchmarks/payloads/info-invalid.json")]),
            ("media-large", "\(repo)/Benchmarks/schemas/media-large.json",
             [("valid", "\(repo)/Benchmarks/payloads/media-valid.json"), ("invalid", "\(repo)/Benchmarks/payloads/media-invalid.json")]),
        ]
        for entry in cases {
            let schema = try Schema(JSONParser.parse(try bytes(entry.schema)), options: options)
            for (kind, path) in entry.payloads {
                let raw = try bytes(path)
                let instance = try JSONParser.parse(raw)
                let expectValid = kind == "valid"
                guard schema.isValid(instance) == expectValid else {
                    FileHandle.standardError.write(Data("error: \(path) is expected to be \(kind) against \(entry.schema)\n".utf8))
                    exit(1)
                }
                run("validation \(entry.label) \(kind) isValid") { schema.isValid(instance) ? 1 : 0 }
                run("validation \(entry.label) \(kind) validate") { schema.validate(instance).count }
                run("validation \(entry.label) \(kind) parse+isValid") {
                    guard let value = try? JSONParser.parse(raw) else { return -1 }
                    return schema.isValid(value) ? 1 : 0
                }
            }
        }
        let loader = ManifestLoader(environment: EnvironmentValues(["YOUTUBE_SERVICE_URL": "http://127.0.0.1:3001"]))
        for path in manifests {
            let manifest = try loader.load(path: path)
            let routes = manifest.modules.reduce(0) { $0 + $1.routes.count }
            run("manifest load \((path as NSString).lastPathComponent) (\(routes) routes)") {
                (try? loader.load(path: path))?.modules.count ?? -1
            }
        }
        // The rate-limit step's own work on a request: the client's bucket and the three
        // RateLimit-* fields on an answer's usual headers (copied first, as each answer has its own).
        let limiter = TokenBucketLimiter(rate: 1_000_000_000, period: .seconds(60))
        let client = ClientIdentity.apiKey(fingerprint: "0123456789abcdef")
        let answerHeaders: HTTPFields = [
            .contentType: "application/json", .cacheControl: "no-store", HTTPField.Name("X-Request-Id")!: "5f0c6c1e-3f8e-4b43-9a55-2f0d3c7f9b21",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ]
        run("rate limit step: bucket + RateLimit-* fields") {
            var headers = answerHeaders
            RateLimitMiddleware.announce(limiter.take(client.description), in: &headers)
            return headers.count
        }
        run("rate limit step: the answer's headers copied alone") {
            var headers = answerHeaders
            headers[.contentType] = "application/json"
            return headers.count
        }
        for result in try await JobStoreBench.run(seconds: seconds, filter: filter) {
            results.append(result)
            print(result.name + String(format: " %14.0f /s  (%6.1f µs CPU per record)", result.perSecond, result.cpuMicrosecondsPerOp ?? 0))
        }
        if let jsonPath {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(results).write(to: URL(fileURLWithPath: jsonPath))
        }
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        return Array(data)
    }

    /// Calibrates the iteration count to about `seconds`, then keeps the best and the median
    /// of five rounds.
    static func measure(name: String, seconds: Double, _ body: () -> Int) -> Result {
        let clock = ContinuousClock()
        var sink = 0
        var iterations = 1
        while true {
            let start = clock.now
            for _ in 0..<iterations { sink &+= body() }
            let elapsed = (clock.now - start).seconds
            if elapsed >= seconds / 4 || iterations >= 1 << 30 {
                iterations = max(1, Int(Double(iterations) * (seconds / max(elapsed, 1e-9))))
                break
            }
            iterations *= elapsed < seconds / 100 ? 10 : 2
        }
        var rates: [Double] = []
        for _ in 0..<5 {
            let start = clock.now
            for _ in 0..<iterations { sink &+= body() }
            rates.append(Double(iterations) / (clock.now - start).seconds)
        }
        if sink == .min { print(sink) }
        rates.sort()
        let best = rates.last!
        return Result(name: name, perSecond: best, medianPerSecond: rates[2], nanosecondsPerOp: 1e9 / best)
    }
}

extension Duration {
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}
