import Foundation
import Testing
@testable import YouTubePlugin

/// The byte scanner against the `URLComponents` reading it stands in for: it must read the same
/// id or leave the URL to `URLComponents`, and it must read the everyday spellings itself.
@Suite struct YouTubeURLScannerTests {
    @Test(arguments: YouTubeURLTests.everydaySpellings + [
        "HTTPS://WWW.YouTube.com/watch?v=dQw4w9WgXcQ#t=1",
        "https://www.youtube.com/watch/?v=dQw4w9WgXcQ",
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
    /// mutated (a character inserted or removed, at positions and with characters picked by a
    /// fixed stride, so every run checks the same spellings): whenever the scanner answers,
    /// `URLComponents` reads the same id.
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
        let palette = Array(" \t\n%#?&=/:@[]{}<>\"\\^`|~.-_+!$'()*,;AZaz09é").map(String.init)
        func pick<T>(_ options: [T], _ n: Int) -> T { options[n % options.count] }

        var urls: [String] = []
        for scheme in schemes {
            for host in hosts {
                for path in paths {
                    let n = urls.count
                    urls.append((scheme + host + path + pick(queries, n * 7) + pick(fragments, n * 5))
                        .replacingOccurrences(of: "ID", with: pick(ids, n * 11)))
                }
            }
        }
        for scheme in ["https://", "http://", "HTTPS://"] {
            for host in ["www.youtube.com", "youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be", "YouTu.be"] {
                for path in ["/watch?v=ID", "/watch/?t=1&v=ID", "/shorts/ID", "/embed/ID/", "/live/ID?x=1", "/v/ID", "/ID", "/ID/"] {
                    for fragment in ["", "#t=1", "#a?b"] {
                        urls.append((scheme + host + path + fragment).replacingOccurrences(of: "ID", with: pick(Array(ids.prefix(2)), urls.count)))
                    }
                }
            }
        }
        var answered = 0
        var checked = 0
        for (n, url) in urls.enumerated() {
            var variants = [url]
            for k in 1...3 {
                var characters = Array(url)
                let position = (n * 7919 + k * 104_729) % (characters.count + 1)
                if (n + k) % 3 == 0, position < characters.count {
                    characters.remove(at: position)
                } else {
                    characters.insert(contentsOf: pick(palette, n * 13 + k * 17), at: position)
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
