import Foundation
import HTTPTypes
import JSONSchema
import RouteHost

/// yt-dlp's and ffmpeg's failures, read from their standard error, as our JSON answers.
///
/// Body: `{"error": "<what happened>", "code": "<machine code>", "reason": "<yt-dlp's ERROR line>"}`
/// (`reason` only for the 4xx answers: it tells the client about its video, never about our
/// machine).
///
/// | yt-dlp says (case-insensitive)                                   | status | code |
/// |------------------------------------------------------------------|--------|------|
/// | `Private video`                                                  | 403 | `video_private` |
/// | `Sign in to confirm your age`, `age-restricted`, `inappropriate` | 403 | `age_restricted` |
/// | `members-only`, `Join this channel`                              | 403 | `members_only` |
/// | `Sign in to confirm`, `not a bot`, `login required`, `--cookies` | 403 | `sign_in_required` |
/// | `not available in your country`, `geo restrict`                  | 451 | `geo_restricted` |
/// | `Premieres in`, `live event will begin`, `is upcoming`           | 422 | `live_not_started` |
/// | `Video unavailable`, `has been removed`, `does not exist`, `HTTP Error 404`, `no longer available`, `terminated` | 404 | `video_unavailable` |
/// | `Unsupported URL`                                                | 400 | `unsupported_url` |
/// | `Requested format is not available`                              | 422 | `format_unavailable` |
/// | `HTTP Error 429`, `Too Many Requests`                            | 429 | `youtube_rate_limited` (`Retry-After: 60`) |
/// | `Unable to download`, `timed out`, connection errors             | 502 | `network_error` |
/// | anything else, a non-zero exit                                   | 502 | `extraction_failed` / `conversion_failed` |
/// | killed by a signal we did not send                               | 502 | `process_crashed` |
enum YouTubeToolFailure {
    private static let rules: [(needles: [String], status: HTTPResponse.Status, code: String, message: String)] = [
        (["private video"], .forbidden, "video_private", "This video is private"),
        (["confirm your age", "age-restricted", "age restricted", "inappropriate for some users"], .forbidden, "age_restricted",
         "This video is age-restricted; set YOUTUBE_COOKIES_FILE to the cookies of an account allowed to watch it"),
        (["members-only", "members only", "join this channel"], .forbidden, "members_only", "This video is for channel members only"),
        (["sign in to confirm", "not a bot", "login required", "requires authentication", "use --cookies", "--cookies-from-browser"],
         .forbidden, "sign_in_required", "YouTube requires signing in for this video; set YOUTUBE_COOKIES_FILE"),
        (["not available in your country", "geo restrict", "geo-restrict", "blocked it in your country"],
         .unavailableForLegalReasons, "geo_restricted", "This video is not available in this server's country"),
        (["premieres in", "live event will begin", "is upcoming", "premiere will begin"], .unprocessableContent, "live_not_started",
         "This live stream or premiere has not started yet"),
        (["video unavailable", "this video is unavailable", "has been removed", "does not exist", "http error 404",
          "no longer available", "has been terminated", "video is not available"], .notFound, "video_unavailable",
         "This video is unavailable"),
        (["unsupported url"], .badRequest, "unsupported_url", "This URL is not supported"),
        (["requested format is not available"], .unprocessableContent, "format_unavailable", "No format of this video matches the requested quality"),
        (["http error 429", "too many requests"], .tooManyRequests, "youtube_rate_limited", "YouTube is rate-limiting this server; try again later"),
    ]

    private static let networkNeedles = [
        "unable to download", "timed out", "connection refused", "connection reset", "name or service not known",
        "network is unreachable", "temporary failure in name resolution", "unable to connect", "http error 5",
    ]

    /// The answer for a tool that failed before our answer's head was sent.
    ///
    /// - Parameters:
    ///   - stderr: what the failed tool wrote to standard error.
    ///   - termination: how it ended.
    ///   - tool: `yt-dlp` or `ffmpeg`.
    static func failure(stderr: String, termination: ChildProcess.Termination?, tool: String) -> RouteFailure {
        let line = errorLine(stderr)
        let lowered = stderr.lowercased()
        if tool == "yt-dlp" {
            for rule in rules where rule.needles.contains(where: lowered.contains) {
                var headers = HTTPFields()
                if rule.status == .tooManyRequests { headers[HTTPField.Name("Retry-After")!] = "60" }
                return make(rule.status, rule.message, code: rule.code, reason: line, headers: headers)
            }
        }
        if case .signalled(let signal) = termination, signal != SIGPIPE {
            return make(.badGateway, "\(tool) crashed (signal \(signal))", code: "process_crashed")
        }
        if networkNeedles.contains(where: lowered.contains) {
            return make(.badGateway, "The video could not be fetched from YouTube", code: "network_error")
        }
        if tool == "ffmpeg" {
            return make(.badGateway, "The media could not be converted", code: "conversion_failed")
        }
        return make(.badGateway, "yt-dlp could not fetch the video", code: "extraction_failed")
    }

    /// yt-dlp's last `ERROR:` line without its prefixes (`ERROR: [youtube] ID: `), at most 300
    /// characters; nil when there is none.
    static func errorLine(_ stderr: String) -> String? {
        guard let line = stderr.split(whereSeparator: \.isNewline).last(where: { $0.hasPrefix("ERROR:") }) else { return nil }
        var text = line.dropFirst("ERROR:".count).trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            text = text[text.index(after: close)...].trimmingCharacters(in: .whitespaces)
            // "<id>: message"
            if let colon = text.range(of: ": "), !text[..<colon.lowerBound].contains(" ") {
                text = String(text[colon.upperBound...])
            }
        }
        let printable = String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }))
        return printable.count > 300 ? String(printable.prefix(300)) + "…" : printable
    }

    static func make(_ status: HTTPResponse.Status, _ message: String, code: String, reason: String? = nil, headers: HTTPFields = [:]) -> RouteFailure {
        var body: JSONObject = ["error": .string(message), "code": .string(code)]
        if let reason, status.code < 500 { body["reason"] = .string(reason) }
        return RouteFailure(status, message: .object(body), body: .object(body), headers: headers)
    }
}
