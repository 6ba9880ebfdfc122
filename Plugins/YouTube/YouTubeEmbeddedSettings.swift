import Foundation
import JSONSchema
import RouteHost

/// The embedded backend's settings, from the environment.
///
/// | variable | default | meaning |
/// |----------|---------|---------|
/// | `YOUTUBE_YTDLP_PATH` | `yt-dlp` on `PATH` | the yt-dlp executable |
/// | `YOUTUBE_FFMPEG_PATH` | `ffmpeg` on `PATH` | the ffmpeg executable |
/// | `YOUTUBE_MP3_BITRATE` | `192k` | MP3 bitrate (`libmp3lame -b:a`), 32k…320k |
/// | `YOUTUBE_MAX_CONCURRENT` | 2 | yt-dlp runs at once (info and streams); more get 429 |
/// | `YOUTUBE_EXTRACT_TIMEOUT` | 60 | seconds for `yt-dlp -J`, and again for the first output bytes of a stream |
/// | `YOUTUBE_STREAM_IDLE_TIMEOUT` | 30 | seconds without output (while the client waits) that end a stream |
/// | `YOUTUBE_CLIENT_STALL_TIMEOUT` | 120 | seconds one write to the client may wait (it stopped reading) before the connection is closed and the tools ended |
/// | `YOUTUBE_SOCKET_TIMEOUT` | 20 | network timeout of yt-dlp (`--socket-timeout`) and ffmpeg (`-rw_timeout`) |
/// | `YOUTUBE_COOKIES_FILE` | none | a Netscape cookies file passed as `--cookies` (must be readable) |
/// | `YOUTUBE_EXTRA_ALLOWED_HOSTS` | empty | hosts accepted besides YouTube's (see ``ExtraAllowedHosts``) |
struct YouTubeEmbeddedSettings: Sendable {
    var ytdlp: String
    var ffmpeg: String
    var mp3Bitrate = "192k"
    var maxConcurrent = 2
    var extractTimeout: Duration = .seconds(60)
    var idleTimeout: Duration = .seconds(30)
    var clientStallTimeout: Duration = .seconds(120)
    var socketTimeout: Duration = .seconds(20)
    var cookiesFile: String?
    /// The children's environment: a short list copied from ours (never our secrets).
    var childEnvironment: [String: String] = [:]
    /// The JavaScript runtime yt-dlp gets (`--js-runtimes NAME:PATH`): real YouTube pages need
    /// one to solve their challenges. The first of deno, node, quickjs and bun (yt-dlp's order)
    /// on the children's `PATH`; nil when there is none, which discovery and health report.
    var jsRuntime: (name: String, path: String)?

    /// How to get a JavaScript runtime, for reports of a missing one.
    static let jsRuntimeHint = "run scripts/setup (it installs deno into .tools), or install deno or node on PATH"

    /// Variables the children get from the host's environment, when set.
    static let inheritedVariables = [
        "PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "PYENV_ROOT", "PYENV_VERSION", "VIRTUAL_ENV",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    ]

    /// Why the tools are missing, and how to fix it.
    struct Missing: Error, Sendable {
        var reason: String
        var fix: String
    }

    static let installHint =
        "install them (pip install yt-dlp==2026.10.26; apt-get install ffmpeg) or set YOUTUBE_YTDLP_PATH / YOUTUBE_FFMPEG_PATH, or set YOUTUBE_SERVICE_URL to use a downloader service"

    /// Finds the tools; `Missing` when one is not there.
    static func locateTools(_ environment: EnvironmentValues) -> Result<(ytdlp: String, ffmpeg: String), Missing> {
        let path = environment.string("PATH") ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        var found: [String] = []
        var problems: [String] = []
        for (variable, name) in [("YOUTUBE_YTDLP_PATH", "yt-dlp"), ("YOUTUBE_FFMPEG_PATH", "ffmpeg")] {
            if let explicit = environment.string(variable) {
                if isExecutableFile(explicit) {
                    found.append(explicit)
                } else {
                    problems.append("\(variable)=\(explicit) is not an executable file")
                }
            } else if let located = search(name, in: path) {
                found.append(located)
            } else {
                problems.append("\(name) was not found on PATH")
            }
        }
        guard problems.isEmpty else { return .failure(Missing(reason: problems.joined(separator: "; "), fix: installHint)) }
        return .success((found[0], found[1]))
    }

    static func search(_ name: String, in path: String) -> String? {
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if isExecutableFile(candidate) { return candidate.hasPrefix("/") ? candidate : FileManager.default.currentDirectoryPath + "/" + candidate }
        }
        return nil
    }

    static func isExecutableFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
            && FileManager.default.isExecutableFile(atPath: path)
    }

    struct SettingError: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads every setting; throws a message naming the variable for a bad value.
    init(ytdlp: String, ffmpeg: String, environment: EnvironmentValues) throws {
        self.ytdlp = ytdlp
        self.ffmpeg = ffmpeg
        if let bitrate = environment.string("YOUTUBE_MP3_BITRATE")?.lowercased() {
            let digits = bitrate.hasSuffix("k") ? String(bitrate.dropLast()) : bitrate
            guard let value = Int(digits), (32...320).contains(value) else {
                throw SettingError(description: "YOUTUBE_MP3_BITRATE=\(bitrate) is not valid: expected a bitrate from 32k to 320k, like 192k")
            }
            mp3Bitrate = "\(value)k"
        }
        maxConcurrent = try environment.integer("YOUTUBE_MAX_CONCURRENT", default: 2, minimum: 1)
        extractTimeout = try environment.seconds("YOUTUBE_EXTRACT_TIMEOUT", default: 60)
        idleTimeout = try environment.seconds("YOUTUBE_STREAM_IDLE_TIMEOUT", default: 30)
        clientStallTimeout = try environment.seconds("YOUTUBE_CLIENT_STALL_TIMEOUT", default: 120)
        guard clientStallTimeout > .zero else {
            throw SettingError(description: "YOUTUBE_CLIENT_STALL_TIMEOUT must be more than 0 seconds")
        }
        socketTimeout = try environment.seconds("YOUTUBE_SOCKET_TIMEOUT", default: 20)
        if let cookies = environment.string("YOUTUBE_COOKIES_FILE") {
            guard FileManager.default.isReadableFile(atPath: cookies) else {
                throw SettingError(description: "YOUTUBE_COOKIES_FILE=\(cookies) is not valid: expected a readable Netscape cookies file")
            }
            cookiesFile = cookies
        }
        for name in Self.inheritedVariables {
            if let value = environment.string(name) ?? ProcessInfo.processInfo.environment[name], !value.isEmpty {
                childEnvironment[name] = value
            }
        }
        let childPath = childEnvironment["PATH"] ?? ""
        for (name, executable) in [("deno", "deno"), ("node", "node"), ("quickjs", "qjs"), ("bun", "bun")] {
            if let path = Self.search(executable, in: childPath) {
                jsRuntime = (name, path)
                break
            }
        }
        childEnvironment["PYTHONIOENCODING"] = "utf-8"
        childEnvironment["PYTHONUNBUFFERED"] = "1"
        if childEnvironment["LANG"] == nil { childEnvironment["LANG"] = "C.UTF-8" }
    }

    /// yt-dlp's options common to every run: no user configuration or cache, no playlists, no
    /// retries (a retried download appends to a pipe that already has bytes), cookies if any.
    var ytdlpCommonArguments: [String] {
        var arguments = [
            "--ignore-config", "--no-cache-dir", "--no-playlist", "--no-progress", "--no-warnings",
            "--socket-timeout", Self.seconds(socketTimeout),
        ]
        if let cookiesFile { arguments += ["--cookies", cookiesFile] }
        if let jsRuntime { arguments += ["--js-runtimes", "\(jsRuntime.name):\(jsRuntime.path)"] }
        return arguments
    }

    static func seconds(_ duration: Duration) -> String {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return value == value.rounded() ? String(Int(value)) : String(value)
    }

    var json: JSONValue {
        var object = JSONObject()
        object["YOUTUBE_BACKEND"] = "embedded"
        object["YOUTUBE_YTDLP_PATH"] = .string(ytdlp)
        object["YOUTUBE_FFMPEG_PATH"] = .string(ffmpeg)
        object["YOUTUBE_MP3_BITRATE"] = .string(mp3Bitrate)
        object["YOUTUBE_MAX_CONCURRENT"] = .number(JSONNumber(maxConcurrent))
        object["YOUTUBE_EXTRACT_TIMEOUT"] = .number(JSONNumber(extractTimeout.secondsValue))
        object["YOUTUBE_STREAM_IDLE_TIMEOUT"] = .number(JSONNumber(idleTimeout.secondsValue))
        object["YOUTUBE_CLIENT_STALL_TIMEOUT"] = .number(JSONNumber(clientStallTimeout.secondsValue))
        object["YOUTUBE_SOCKET_TIMEOUT"] = .number(JSONNumber(socketTimeout.secondsValue))
        object["YOUTUBE_COOKIES_FILE"] = cookiesFile == nil ? "not set" : "set"
        return .object(object)
    }
}
