import Foundation
import JSONSchema
import RouteHost

/// The durable record of a synchronous job on its own: ``SQLiteJobStore/insertAll(_:)`` on a
/// fresh file in a temporary folder, in batches of 100 (as ``DurableJobService`` gathers them
/// under load), with an `authenticate`-sized envelope (~300 bytes) and an `info`-sized one
/// (~3 KB). It reports records per second and the process's CPU time per record, SQLite's
/// thread included: the part of a request's cost that no faster HTTP path can remove. Job ids
/// are random (UUID v4, as the host makes them); the same cases with time-ordered ids show what
/// the random placement in the id index costs.
enum JobStoreBench {
    /// - Parameter filter: runs only the cases whose name contains it.
    static func run(seconds: Double, filter: String?) async throws -> [Microbench.Result] {
        var results: [Microbench.Result] = []
        let cases: [(label: String, response: JSONValue, ordered: Bool)] = [
            ("authenticate-size", .string("Authorized"), false), ("info-size", infoResponse, false),
            ("authenticate-size", .string("Authorized"), true), ("info-size", infoResponse, true),
        ]
        for (label, response, ordered) in cases {
            let name = "job store insert, \(label) records, \(ordered ? "time-ordered ids" : "random ids"), batches of 100"
            if let filter, !name.contains(filter) { continue }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("routehost-microbench-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let store = SQLiteJobStore(storagePath: folder.path)
            try await store.open()
            let template = record(response: response)
            var next = 0
            func batch() -> [JobRecord] {
                (0..<100).map { _ in
                    next += 1
                    var job = template
                    job.id = ordered ? orderedID(next) : RandomUUID.v4()
                    job.requestID = job.id
                    return job
                }
            }
            for _ in 0..<20 { try await store.insertAll(batch()) }
            let clock = ContinuousClock()
            let cpuBefore = processCPUSeconds()
            let start = clock.now
            var inserted = 0
            while (clock.now - start).seconds < seconds * 5 {
                try await store.insertAll(batch())
                inserted += 100
            }
            let wall = (clock.now - start).seconds
            let cpu = processCPUSeconds() - cpuBefore
            try await store.close()
            let perSecond = Double(inserted) / wall
            results.append(Microbench.Result(
                name: name, perSecond: perSecond,
                medianPerSecond: perSecond, nanosecondsPerOp: 1e9 / perSecond, cpuMicrosecondsPerOp: cpu * 1e6 / Double(inserted)))
        }
        return results
    }

    /// A UUID v7-like spelling (a counter where v7 has the time): each lands at the end of the id
    /// index. Diagnostic only: it shows what the random placement costs.
    private static func orderedID(_ number: Int) -> String {
        String(format: "%08x-%04x-7000-8000-000000000000", number >> 16, number & 0xFFFF)
    }

    /// A finished job; the measured loop copies it with new ids, as the envelope is serialized
    /// for the client's answer anyway.
    private static func record(response: JSONValue) -> JobRecord {
        let now = Date()
        let id = UUID().uuidString.lowercased()
        var envelope = JSONObject()
        envelope["endpoint"] = "/v1/media/youtube/info"
        envelope["code"] = 200
        envelope["id"] = .null
        envelope["job_id"] = .string(id)
        envelope["response"] = response
        envelope["message"] = "success"
        envelope["run_time"] = 0.012
        envelope["queue_time"] = 0
        envelope["total_time"] = 0.012
        envelope["pid"] = 4242
        envelope["queue_id"] = 1
        envelope["queue_length"] = 0
        envelope["build_number"] = "1.0.0"
        var job = JobRecord(
            id: id, endpoint: "/v1/media/youtube/info", status: .done,
            payload: ["url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"], requestID: id,
            uri: "/v1/media/youtube/info", headers: [.contentType: "application/json", .userAgent: "curl/8.5.0"],
            createdAt: now, updatedAt: now, startedAt: now, finishedAt: now, attempts: 1, envelope: .object(envelope))
        job.serializedEnvelope = JSONValue.object(envelope).serialized()
        return job
    }

    /// A video's metadata of about 3 KB, like the downloader's `/info` answer.
    private static let infoResponse: JSONValue = {
        var formats: [JSONValue] = []
        for itag in [18, 22, 137, 140, 248, 251] {
            formats.append(["itag": .number(JSONNumber(itag)), "ext": "mp4", "height": 720, "filesize": 12_345_678,
                            "url": .string("https://rr3---sn-example.googlevideo.com/videoplayback?itag=\(itag)&expire=1764000000")])
        }
        return [
            "videoId": "dQw4w9WgXcQ", "title": "Benchmark Video — Never Gonna Give You Up (Official Music Video)",
            "description": .string(String(repeating: "A description long enough to look like a real one. ", count: 30)),
            "duration": 213, "viewCount": 1_600_000_000, "channel": "Rick Astley", "uploadDate": "20091025",
            "thumbnails": .array((0..<4).map { .string("https://i.ytimg.com/vi/dQw4w9WgXcQ/\($0).jpg") }),
            "formats": .array(formats),
        ]
    }()

    private static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
