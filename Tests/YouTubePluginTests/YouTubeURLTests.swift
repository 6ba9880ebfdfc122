import Testing
import YouTubePlugin

@Suite struct YouTubeURLTests {
    /// Spellings of one video as people paste them; ``YouTubeURLScannerTests`` checks that the
    /// byte scanner reads these itself.
    static let everydaySpellings = [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "http://youtube.com/watch?v=dQw4w9WgXcQ&t=42s&list=PL123",
        "https://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://WWW.YouTube.com/watch?v=dQw4w9WgXcQ#t=1",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://youtube.com/shorts/dQw4w9WgXcQ/?feature=share",
        "https://www.youtube.com/embed/dQw4w9WgXcQ?autoplay=1",
        "https://www.youtube.com/live/dQw4w9WgXcQ",
        "https://www.youtube.com/v/dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?t=42",
    ]

    @Test(arguments: everydaySpellings + [
        "https://www.youtube.com:443/watch?v=dQw4w9WgXcQ",
        "  https://youtu.be/dQw4w9WgXcQ  ",
    ])
    func acceptsAndNormalises(_ text: String) throws {
        let url = try #require(YouTubeURL(text))
        #expect(url.videoID == "dQw4w9WgXcQ")
        #expect(url.normalized == "https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    }

    @Test func keepsUnderscoreAndDash() throws {
        #expect(try #require(YouTubeURL("https://youtu.be/a_b-C_d-E_f")).normalized == "https://www.youtube.com/watch?v=a_b-C_d-E_f")
    }

    @Test(arguments: [
        "",
        "dQw4w9WgXcQ",
        "www.youtube.com/watch?v=dQw4w9WgXcQ",
        "ftp://youtube.com/watch?v=dQw4w9WgXcQ",
        "javascript:alert(1)",
        "https://www.youtube.com/watch?v=dQw4w9WgXc",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQQ",
        "https://www.youtube.com/watch?v=dQw4w9WgX%20Q",
        "https://www.youtube.com/watch?v=dQw4w9WgX.Q",
        "https://www.youtube.com/watch",
        "https://www.youtube.com/watch?list=PL123",
        "https://www.youtube.com/channel/UC1234567890",
        "https://www.youtube.com/shorts/",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ/extra",
        "https://www.youtube.com/playlist?list=dQw4w9WgXcQ",
        "https://youtu.be/",
        "https://youtu.be/dQw4w9WgXcQ/extra",
        "https://evil.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com.evil.com/watch?v=dQw4w9WgXcQ",
        "https://notyoutube.com/watch?v=dQw4w9WgXcQ",
        "https://gaming.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com@evil.com/watch?v=dQw4w9WgXcQ",
        "https://user:pass@www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com:8080/watch?v=dQw4w9WgXcQ",
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ\n",
    ])
    func refuses(_ text: String) {
        #expect(YouTubeURL(text) == nil)
    }
}
