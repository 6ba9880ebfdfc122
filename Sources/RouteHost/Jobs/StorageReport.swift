import Foundation
import JSONSchema

/// How much room the job store takes and has: `/v1/toolkit/test` shows it, and `/health` is
/// `degraded` while the file system of `LOCAL_STORAGE_PATH` has less free than
/// `DISK_FREE_MIN_PERCENT` (every job is written there with SQLite, and scratch files with both
/// stores).
public struct StorageReport: Sendable, Equatable {
    /// `sqlite` or `postgresql`.
    public var kind: String
    /// The store's size in bytes (the SQLite file with its journal, or the PostgreSQL database);
    /// nil when it could not be read.
    public var storeBytes: Int?
    /// Free bytes on the file system of `LOCAL_STORAGE_PATH` (for an unprivileged process), and
    /// that as a share of its size; nil when it could not be read.
    public var diskFreeBytes: Int?
    public var diskFreePercent: Double?

    /// Free space on the file system holding `path` (or the nearest folder of it that exists).
    static func freeSpace(at path: String) -> (bytes: Int, percent: Double)? {
        var url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" { url.deleteLastPathComponent() }
        var stats = statvfs()
        guard statvfs(url.path, &stats) == 0, stats.f_blocks > 0 else { return nil }
        let free = Int(stats.f_bavail) * Int(stats.f_frsize)
        return (free, (Double(stats.f_bavail) / Double(stats.f_blocks) * 1000).rounded() / 10)
    }

    var json: JSONValue {
        var object = JSONObject()
        object["kind"] = .string(kind)
        object["size_bytes"] = storeBytes.map { .number(JSONNumber($0)) } ?? .null
        object["disk_free_bytes"] = diskFreeBytes.map { .number(JSONNumber($0)) } ?? .null
        object["disk_free_percent"] = diskFreePercent.map { .number(JSONNumber($0)) } ?? .null
        return .object(object)
    }
}
