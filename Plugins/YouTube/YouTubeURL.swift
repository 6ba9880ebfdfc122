import Foundation

/// A YouTube video URL, checked and reduced to its video id.
///
/// Accepted (http or https, any letter case in the host, extra query parameters and fragments
/// ignored):
/// - `youtube.com`, `www.youtube.com`, `m.youtube.com`, `music.youtube.com` with
///   `/watch?v=ID`, `/shorts/ID`, `/embed/ID`, `/live/ID` or `/v/ID`;
/// - `youtu.be/ID`.
///
/// `ID` is 11 characters of `A-Z a-z 0-9 _ -`. URLs with user information or a port other than
/// the scheme's default are refused. ``normalized`` is what goes upstream:
/// `https://www.youtube.com/watch?v=ID`.
///
/// ```swift
/// YouTubeURL("https://youtu.be/dQw4w9WgXcQ?t=42")?.normalized
/// // "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
/// ```
public struct YouTubeURL: Sendable, Hashable {
    public let videoID: String

    static let hosts: Set<String> = ["youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"]
    static let pathForms: Set<String> = ["shorts", "embed", "live", "v"]

    public init?(_ text: String) {
        guard let id = YouTubeURLScanner.videoID(in: text) ?? Self.componentsVideoID(text) else { return nil }
        videoID = id
    }

    /// The video id as read by `URLComponents`: the reference reading, for the spellings
    /// ``YouTubeURLScanner`` leaves to it.
    static func componentsVideoID(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.count <= 2048, let components = URLComponents(string: trimmed),
            let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
            components.user == nil, components.password == nil,
            let host = components.host?.lowercased()
        else { return nil }
        if let port = components.port, port != (scheme == "https" ? 443 : 80) { return nil }
        let segments = components.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        let path = segments.last == "" ? Array(segments.dropLast()) : segments
        var id: String?
        if host == "youtu.be" {
            if path.count == 1 { id = path[0] }
        } else if hosts.contains(host) {
            if path == ["watch"] {
                id = components.queryItems?.first(where: { $0.name == "v" })?.value
            } else if path.count == 2, pathForms.contains(path[0]) {
                id = path[1]
            }
        }
        guard let id, isVideoID(id) else { return nil }
        return id
    }

    /// The canonical URL sent upstream.
    public var normalized: String { "https://www.youtube.com/watch?v=\(videoID)" }

    /// Whether `id` is 11 characters of `A-Z a-z 0-9 _ -`.
    public static func isVideoID(_ id: String) -> Bool {
        id.utf8.count == 11
            && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 }
    }

    /// The message of the 400 for a URL that is not accepted.
    public static let requirement =
        "'url' must be a YouTube video URL (youtube.com/watch?v=ID, youtube.com/shorts/ID, /embed/ID, /live/ID, /v/ID, or youtu.be/ID; www., m. and music. hosts accepted) with an 11-character video id"
}

/// The hosts besides YouTube's that `YOUTUBE_EXTRA_ALLOWED_HOSTS` lets through (tests, private
/// mirrors). Empty by default, and then nothing but ``YouTubeURL`` passes.
///
/// Each entry is a host name or IP address, optionally with `:port`: `mirror.example` allows the
/// standard ports only (80 for http, 443 for https), `mirror.example:8443` only that port, and
/// `127.0.0.1:*` any port of that host (for tests on loopback). Matching is exact and
/// case-insensitive (no wildcards, no subdomains). Entries with anything else (a scheme, a path, a
/// bare `*`, `@`) are refused when the module starts.
///
/// Caveat: the setting is for tests and private mirrors. yt-dlp follows redirects, so a listed
/// host that redirects elsewhere takes yt-dlp there.
public struct ExtraAllowedHosts: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        var host: String
        var port: Port
    }

    enum Port: Sendable, Equatable {
        /// 80 for http, 443 for https.
        case standard
        case only(Int)
        case any
    }

    let entries: [Entry]

    public static let none = ExtraAllowedHosts(entries: [])

    init(entries: [Entry]) {
        self.entries = entries
    }

    /// Parses the comma-separated list; throws a message for an entry that is not `host[:port]`.
    public init(list: [String]) throws(ExtraAllowedHostsError) {
        var entries: [Entry] = []
        for item in list {
            let text = item.lowercased()
            var host = text
            var port = Port.standard
            if let colon = text.lastIndex(of: ":"), !text.hasPrefix("[") || text[..<colon].hasSuffix("]") {
                let written = text[text.index(after: colon)...]
                if written == "*" {
                    port = .any
                } else {
                    guard let value = Int(written), (1...65535).contains(value) else { throw .init(entry: item) }
                    port = .only(value)
                }
                host = String(text[..<colon])
            }
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            let allowed = host.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || ".-:".unicodeScalars.contains($0)) }
            guard !host.isEmpty, allowed, !host.hasPrefix("."), !host.hasPrefix("-") else { throw .init(entry: item) }
            entries.append(Entry(host: host, port: port))
        }
        self.entries = entries
    }

    public var isEmpty: Bool { entries.isEmpty }

    /// The entries as written back (`host` or `host:port`), for discovery.
    public var descriptions: [String] {
        entries.map { entry in
            switch entry.port {
            case .standard: entry.host
            case .only(let port): "\(entry.host):\(port)"
            case .any: "\(entry.host):*"
            }
        }
    }

    func allows(host: String, port: Int?, scheme: String) -> Bool {
        guard !entries.isEmpty else { return false }
        let standard = scheme == "https" ? 443 : 80
        let effectivePort = port ?? standard
        return entries.contains { entry in
            guard entry.host == host else { return false }
            switch entry.port {
            case .standard: return effectivePort == standard
            case .only(let allowed): return effectivePort == allowed
            case .any: return true
            }
        }
    }
}

public struct ExtraAllowedHostsError: Error, Sendable {
    public var entry: String
}

/// What a request's `url` names: a YouTube video (sent to the backend normalised), or a URL on an
/// extra allowed host (sent as is).
public struct YouTubeTarget: Sendable, Hashable {
    /// The URL the backend gets.
    public let url: String
    /// The YouTube video id; nil for an extra host's URL.
    public let videoID: String?

    public init(youtube: YouTubeURL) {
        self.init(url: youtube.normalized, videoID: youtube.videoID)
    }

    init(url: String, videoID: String?) {
        self.url = url
        self.videoID = videoID
    }

    /// A YouTube URL, else a URL on one of `extraHosts` (http or https, no user information,
    /// at most 2048 characters, no spaces or control characters); nil otherwise.
    public init?(_ text: String, extraHosts: ExtraAllowedHosts) {
        if let youtube = YouTubeURL(text) {
            self.init(youtube: youtube)
            return
        }
        guard !extraHosts.isEmpty else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.utf8.count <= 2048, trimmed.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
            let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", components.user == nil, components.password == nil,
            let host = components.host?.lowercased(), !host.isEmpty,
            extraHosts.allows(host: host, port: components.port, scheme: scheme)
        else { return nil }
        self.init(url: trimmed, videoID: nil)
    }

    /// The stem of the offered file name when there is no title.
    public var fallbackStem: String { videoID ?? "video" }
}
