import Foundation
import RouteHost
import Testing

/// One process per job store: a second one waits for the lock, then gives up naming the holder.
@Suite struct StoreLockTests {
    @Test func aSecondStoreOnTheSameFileWaitsThenFailsNamingTheHolder() async throws {
        try await TemporaryDirectory.with { storage in
            let first = SQLiteJobStore(storagePath: storage)
            try await first.open()
            let second = SQLiteJobStore(storagePath: storage, lockTimeout: .milliseconds(300))
            do {
                try await second.open()
                Issue.record("a second store opened a locked file")
            } catch {
                let text = "\(error)"
                #expect(text.contains("\(storage)/jobs.sqlite is in use by another routehost process (pid \(getpid()))"), "\(text)")
                #expect(text.contains("LOCAL_STORAGE_PATH"))
            }
            // The lock goes with the store: once the first closes, the second opens.
            try await first.close()
            try await second.open()
            try await second.close()
        }
    }

    /// A second `routehost serve` on a store in use exits 1 before it listens, naming the
    /// store and the first one's pid.
    @Test func aSecondHostOnTheSameStorageExitsBeforeItListens() async throws {
        try await TemporaryDirectory.with { directory in
            let manifest = SharedQueueTests.repoManifest
            let storage = (directory as NSString).appendingPathComponent("storage")
            let environment = [
                "API_KEY": JobsHost.apiKey, "LOCAL_STORAGE_PATH": storage, "LOG_LEVEL": "critical",
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            ]
            let first = try await ChildHost.start(manifest: manifest, directory: directory, environment: environment)
            let second = Process()
            second.executableURL = try ChildHost.executable
            second.arguments = ["serve", "--manifest", manifest, "--env-file", "/nonexistent/.env", "--host", "127.0.0.1", "--port", "0"]
            second.environment = environment.merging(["STORE_LOCK_TIMEOUT_SECONDS": "0.5"]) { _, new in new }
            let output = (directory as NSString).appendingPathComponent("second.log")
            FileManager.default.createFile(atPath: output, contents: nil)
            let log = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            second.standardOutput = log
            second.standardError = log
            let exited = AsyncStream.makeStream(of: Int32.self)
            second.terminationHandler = { process in
                exited.continuation.yield(process.terminationStatus)
                exited.continuation.finish()
            }
            try second.run()
            var statuses = exited.stream.makeAsyncIterator()
            let status = await statuses.next()
            try log.close()
            let text = try String(contentsOfFile: output, encoding: .utf8)
            #expect(status == 1, "\(text)")
            #expect(text.contains("\(storage)/jobs.sqlite is in use by another routehost process (pid \(first.process.processIdentifier))"), "\(text)")
            #expect(!text.contains("listening on"), "it never served")
            #expect(await first.terminate() == 0)
        }
    }
}
