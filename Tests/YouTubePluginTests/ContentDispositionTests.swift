import RouteHost
import Testing

@Suite struct ContentDispositionTests {
    /// Decodes the `filename*` of a header we built.
    func extended(_ header: String) -> String? {
        ContentDisposition.filename(in: header)
    }

    func fallback(_ header: String) -> String? {
        guard let start = header.range(of: "filename=\""), let end = header.range(of: "\"; filename*") else { return nil }
        return String(header[start.upperBound..<end.lowerBound])
    }

    @Test func plainASCII() {
        let header = ContentDisposition.attachment(filename: "My Song.mp3")
        #expect(header == "attachment; filename=\"My Song.mp3\"; filename*=UTF-8''My%20Song.mp3")
    }

    @Test(arguments: [
        "日本語のタイトル.mp3",
        "Emoji 🎵🔥 👩‍👩‍👧 mix.mp4",
        "Quotes \"inside\" and 'single'.mp3",
        "Commas, semicolons; and = signs.mp3",
        "Percent 100% sure.mp3",
        "Café Révolution – naïve.mp3",
        "Ünïcödé Ω ≈ ∑.mp4",
        "Tab\tand  spaces.mp3",
    ])
    func roundTripsAnyTitle(_ name: String) throws {
        let header = ContentDisposition.attachment(filename: name, fallbackStem: "dQw4w9WgXcQ")
        #expect(header.hasPrefix("attachment; filename=\""))
        #expect(header.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F })
        let decoded = try #require(extended(header))
        #expect(decoded == ContentDisposition.sanitize(name))
        let ascii = try #require(fallback(header))
        #expect(!ascii.contains("\"") && !ascii.contains("\\") && !ascii.contains("%"))
        #expect(ascii.hasSuffix(name.hasSuffix(".mp4") ? ".mp4" : ".mp3"))
    }

    @Test func cjkOnlyFallsBackToTheStem() throws {
        let header = ContentDisposition.attachment(filename: "日本語.mp3", fallbackStem: "dQw4w9WgXcQ")
        #expect(fallback(header) == "dQw4w9WgXcQ.mp3")
        #expect(extended(header) == "日本語.mp3")
    }

    @Test func accentsAreFoldedInTheFallback() {
        #expect(ContentDisposition.asciiFallback("Café naïve") == "Cafe naive")
        #expect(ContentDisposition.asciiFallback("a\"b\\c%d") == "a'b_c_d")
        #expect(ContentDisposition.asciiFallback("x 日本語 y") == "x _ y")
    }

    @Test func controlCharactersPathsAndBidiAreRemoved() {
        #expect(ContentDisposition.sanitize("a\u{0}b\r\nc\u{7F}d\u{85}e") == "ab cd e")
        #expect(ContentDisposition.sanitize("../../etc/passwd") == "_.._etc_passwd")
        #expect(ContentDisposition.sanitize("C:\\Windows\\x") == "C:_Windows_x")
        #expect(ContentDisposition.sanitize("evil\u{202E}3pm.exe") == "evil3pm.exe")
        #expect(ContentDisposition.sanitize("...hidden") == "hidden")
        #expect(ContentDisposition.sanitize("  \t ") == nil)
        #expect(ContentDisposition.sanitize("\u{0}\u{1}") == nil)
    }

    @Test func longNamesAreCutBetweenCharactersKeepingTheExtension() throws {
        let long = String(repeating: "日本", count: 200) + ".mp3"
        let cut = try #require(ContentDisposition.sanitize(long, maxBytes: 100))
        #expect(cut.utf8.count <= 100)
        #expect(cut.hasSuffix(".mp3"))
        #expect(cut.hasPrefix("日本日本"))
    }

    @Test func readsUpstreamHeaders() {
        #expect(ContentDisposition.filename(in: #"attachment; filename="a \"b\".mp3""#) == #"a "b".mp3"#)
        #expect(ContentDisposition.filename(in: "attachment; filename=plain.mp3") == "plain.mp3")
        #expect(ContentDisposition.filename(in: "attachment; filename=\"x.mp3\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.mp3") == "日本.mp3")
        #expect(ContentDisposition.filename(in: "attachment; FILENAME*=utf-8'en'caf%C3%A9.mp3") == "café.mp3")
        #expect(ContentDisposition.filename(in: "attachment; filename*=iso-8859-1''caf%E9.mp3") == "café.mp3")
        #expect(ContentDisposition.filename(in: "attachment; filename*=UTF-8''bad%ZZ; filename=\"ok.mp3\"") == "ok.mp3")
        #expect(ContentDisposition.filename(in: "attachment") == nil)
        #expect(ContentDisposition.filename(in: "inline; filename=\"a;b.mp3\"; size=3") == "a;b.mp3")
    }

    @Test func percentEncodesEverythingOutsideAttrChar() {
        #expect(ContentDisposition.percentEncode("a b/\"'()*é") == "a%20b%2F%22%27%28%29%2A%C3%A9")
        #expect(ContentDisposition.percentEncode("!#$&+-.^_`|~") == "!#$&+-.^_`|~")
    }
}
