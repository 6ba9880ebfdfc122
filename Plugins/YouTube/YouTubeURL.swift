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
        } else if Self.hosts.contains(host) {
            if path == ["watch"] {
                id = components.queryItems?.first(where: { $0.name == "v" })?.value
            } else if path.count == 2, Self.pathForms.contains(path[0]) {
                id = path[1]
            }
        }
        guard let id, Self.isVideoID(id) else { return nil }
        videoID = id
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
