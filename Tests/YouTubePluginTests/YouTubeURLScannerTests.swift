import Foundation
import Testing
@testable import YouTubePlugin

/// The byte scanner against the `URLComponents` reading it stands in for: it must read the same
/// id or leave the URL to `URLComponents`, and it must read the everyday spellings itself.
@Suite struct YouTubeURLScannerTests {
    @Test(arguments: [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "http://youtube.com/watch?v=dQw4w9WgXcQ&t=42s&list=PL123",
        "https://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ",
        "HTTPS://WWW.YouTube.com/watch?v=dQw4w9WgXcQ#t=1",
        "https://www.youtube.com/watch/?v=dQw4w9WgXcQ",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://youtube.com/shorts/dQw4w9WgXcQ/?feature=share",
        "https://www.youtube.com/embed/dQw4w9WgXcQ?autoplay=1",
        "https://www.youtube.com/live/dQw4w9WgXcQ",
        "https://www.youtube.com/v/dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ/",
        "https://youtu.be/dQw4w9WgXcQ?si=Ab-cD_e&t=42",
    ])
    func readsEverydaySpellingsItself(_ text: String) {
        #expect(YouTubeURLScanner.videoID(in: text) == "dQw4w9WgXcQ")
        #expect(YouTubeURL.componentsVideoID(text) == "dQw4w9WgXcQ")
    }

    @Test(arguments: [
        "https://www.youtube.com:443/watch?v=dQw4w9WgXcQ",
        "  https://youtu.be/dQw4w9WgXcQ  ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ\n",
        "https://user:pass@www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgX%51",
        "https://www.youtube.com/watch?v",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ#a#b",
        "https://www.youtube.com.evil.com/watch?v=dQw4w9WgXcQ",
    ])
    func leavesTheRestToURLComponents(_ text: String) {
        #expect(YouTubeURLScanner.videoID(in: text) == nil)
    }

    /// Thousands of spellings, built from parts that are valid, borderline or wrong, and then
    /// mutated: whenever the scanner answers, `URLComponents` reads the same id.
    @Test func neverDisagreesWithURLComponents() {
        let schemes = ["https://", "http://", "HTTP://", "hTTps://", "ftp://", "https:/", "https:///", ""]
        let hosts = ["www.youtube.com", "youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be", "YOUTU.BE",
                     "www.youtube.com:443", "youtube.com:80", "youtube.com:8080", "evil.com", "youtube.com.", "a@youtube.com",
                     "www.youtube.com@evil.com", "[::1]", "youtube.com:"]
        let paths = ["/watch", "/watch/", "/watch//", "//watch", "/Watch", "/shorts/ID", "/shorts/ID/", "/shorts/ID//",
                     "/embed/ID", "/live/ID/", "/v/ID", "/x/ID", "/ID", "/ID/", "/ID/extra", "", "/", "/shorts/", "/watch/ID"]
        let queries = ["", "?v=ID", "?v=ID&t=1", "?t=1&v=ID", "?v", "?v=&v=ID", "?V=ID", "?v=ID&v=dQw4w9WgXcQ",
                       "?feature=share&v=ID", "?v=ID;t=1", "?a=b=c&v=ID", "?v=ID'()*+,!$:@/?", "?&&v=ID", "?v=ID%26",
                       "?list=PL&index=2", "?v=ID#"]
        let fragments = ["", "#t=1", "#", "#a?b/c", "#a#b", "#%41"]
        let ids = ["dQw4w9WgXcQ", "a_b-C_d-E_f", "short", "dQw4w9WgXcQQ", "dQw4w9WgX.Q", "dQw4w9WgX+Q"]
        var generator = SplitMix64(seed: 20261125)
        let palette = Array(" \t\n%#?&=/:@[]{}<>\"\\^`|~.-_+!$'()*,;AZaz09é".unicodeScalars).map(String.init)
        var urls: [String] = []
        for scheme in schemes {
            for host in hosts {
                for path in paths {
                    let id = ids[Int(generator.next() % UInt64(ids.count))]
                    let query = queries[Int(generator.next() % UInt64(queries.count))]
                    let fragment = fragments[Int(generator.next() % UInt64(fragments.count))]
                    urls.append((scheme + host + path + query + fragment).replacingOccurrences(of: "ID", with: id))
                }
            }
        }
        for scheme in ["https://", "http://", "HTTPS://"] {
            for host in ["www.youtube.com", "youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be", "YouTu.be"] {
                for path in ["/watch?v=ID", "/watch/?t=1&v=ID", "/shorts/ID", "/embed/ID/", "/live/ID?x=1", "/v/ID", "/ID", "/ID/"] {
                    for fragment in ["", "#t=1", "#a?b"] {
                        urls.append((scheme + host + path + fragment).replacingOccurrences(of: "ID", with: ids[Int(generator.next() % 2)]))
                    }
                }
            }
        }
        var answered = 0
        var checked = 0
        for url in urls {
            var variants = [url]
            for _ in 0..<3 {
                var characters = Array(url)
                let position = characters.isEmpty ? 0 : Int(generator.next() % UInt64(characters.count + 1))
                let insert = palette[Int(generator.next() % UInt64(palette.count))]
                if generator.next() % 3 == 0, position < characters.count {
                    characters.remove(at: position)
                } else {
                    characters.insert(contentsOf: insert, at: position)
                }
                variants.append(String(characters))
            }
            for variant in variants {
                checked += 1
                guard let scanned = YouTubeURLScanner.videoID(in: variant) else { continue }
                answered += 1
                #expect(YouTubeURL.componentsVideoID(variant) == scanned, "\(variant)")
            }
        }
        #expect(checked > 10000)
        #expect(answered > 200, "the scanner answered only \(answered) of \(checked) spellings")
    }
}

/// A small seeded generator, so that every run checks the same spellings.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
