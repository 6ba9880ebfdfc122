import Testing
@testable import JSONSchema

@Suite struct JSONParserTests {
    private func parseError(_ text: String, options: JSONParser.Options = .init()) -> JSONParseError? {
        do {
            _ = try JSONParser.parse(text, options: options)
            return nil
        } catch {
            return error
        }
    }

    @Test func parsesAllValueKinds() throws {
        let value = try JSONParser.parse(#" { "a": [1, -2.5, 3e2, true, false, null, "x\n\u00e9\ud83d\ude00"], "b": {} } "#)
        #expect(value["a"] == [1, -2.5, 300, true, false, nil, "x\né😀"])
        #expect(value["b"] == .object(JSONObject()))
        #expect(value.objectValue?.keys == ["a", "b"])
    }

    @Test func keepsKeyOrder() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":2,"m":3}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
        #expect(value.serializedString() == #"{"z":1,"a":2,"m":3}"#)
    }

    @Test func reportsLineColumnAndOffset() {
        let text = "{\n  \"a\": 1,\n  \"b\" 2\n}"
        let error = parseError(text)
        #expect(error?.message == "expected ':' after object key, found character '2'")
        #expect(error?.location == JSONSourceLocation(offset: 18, line: 3, column: 7))
        #expect(error?.description == "line 3, column 7 (byte 18): expected ':' after object key, found character '2'")
    }

    @Test func columnsCountUnicodeScalars() {
        let error = parseError("[\"é😀\", x]")
        #expect(error?.location == JSONSourceLocation(offset: 11, line: 1, column: 8))
    }

    @Test func missingCommaInObject() {
        let error = parseError("{\"a\": 1 \"b\": 2}")
        #expect(error?.message == "expected ',' or '}' after object member, found character '\"'")
        #expect(error?.location.offset == 8)
    }

    @Test func endOfInput() {
        #expect(parseError("")?.message == "unexpected end of input")
        #expect(parseError("  ")?.location.offset == 2)
        #expect(parseError("[1, 2")?.message == "unexpected end of input (expected ',' or ']' after array element)")
        #expect(parseError("{\"a\":")?.message == "unexpected end of input")
        #expect(parseError("\"abc")?.message == "unterminated string")
    }

    @Test func rejectsTrailingCommasAndGarbage() {
        #expect(parseError("[1,]")?.message == "trailing comma before ']'")
        #expect(parseError("{\"a\":1,}")?.message == "trailing comma before '}'")
        #expect(parseError("1 2")?.message == "unexpected character '2' after the JSON value")
        #expect(parseError("tru")?.message == "invalid literal (expected 'true')")
        #expect(parseError("01")?.message == "leading zeros are not allowed in numbers")
        #expect(parseError("1.")?.message == "unexpected end of input (expected a digit after '.')")
        #expect(parseError("-")?.message == "unexpected end of input (expected a digit after '-')")
        #expect(parseError("1e+")?.message == "unexpected end of input (expected a digit in the exponent)")
        #expect(parseError("[NaN]") != nil)
        #expect(parseError("'a'") != nil)
        #expect(parseError("\"a\tb\"")?.message == "unescaped control character U+0009 in string")
        #expect(parseError("\"\\x\"")?.message == "invalid escape sequence in string")
    }

    @Test func depthLimit() {
        let deep = String(repeating: "[", count: 100_000)
        let error = parseError(deep)
        #expect(error?.message == "nesting deeper than 512 levels")
        #expect(error?.location.offset == 512)
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(parseError(ok) == nil)
        let over = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        #expect(parseError(over) != nil)
        #expect(parseError(String(repeating: "{\"a\":", count: 11) + "1" + String(repeating: "}", count: 11),
                           options: .init(maxDepth: 10))?.message == "nesting deeper than 10 levels")
    }

    @Test func duplicateKeys() throws {
        let error = parseError("{\"url\": 1,\n \"url\": 2}")
        #expect(error?.message == "duplicate key 'url'")
        #expect(error?.location == JSONSourceLocation(offset: 12, line: 2, column: 2))
        let value = try JSONParser.parse("{\"url\": 1, \"x\": 0, \"url\": 2}", options: .init(allowDuplicateKeys: true))
        #expect(value.objectValue?.keys == ["url", "x"])
        #expect(value["url"] == 2)
        // Many keys use the hash index.
        let many = "{" + (0..<40).map { "\"k\($0)\":\($0)" }.joined(separator: ",") + ",\"k7\":1}"
        #expect(parseError(many)?.message == "duplicate key 'k7'")
    }

    @Test func distinctUnicodeKeysAreNotDuplicates() throws {
        let value = try JSONParser.parse("{\"\\u00e9\": 1, \"e\\u0301\": 2}")
        #expect(value.objectValue?.count == 2)
        #expect(value["\u{e9}"] == 1)
        #expect(value["e\u{301}"] == 2)
    }

    @Test func invalidUTF8() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22],                 // invalid byte
            [0x22, 0xC3, 0x22],                 // truncated sequence
            [0x22, 0xC0, 0xAF, 0x22],           // overlong '/'
            [0x22, 0xED, 0xA0, 0x80, 0x22],     // encoded surrogate
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], // beyond U+10FFFF
            [0x5B, 0xE9, 0x5D],                 // outside a string
        ]
        for bytes in cases {
            do {
                _ = try JSONParser.parse(bytes)
                Issue.record("accepted \(bytes)")
            } catch {
                #expect(error.message == "invalid UTF-8", "\(bytes)")
            }
        }
        #expect((try? JSONParser.parse([0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22] as [UInt8])) == "😀")
    }

    @Test func loneSurrogates() throws {
        #expect(parseError(#""\ud800""#)?.message == "lone surrogate escape \\uD800 in string")
        #expect(parseError(#""\udc00x""#)?.message == "lone surrogate escape \\uDC00 in string")
        #expect(parseError(#""\ud800\u0041""#) != nil)
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == "😀")
        #expect(parseError(#""\u12G4""#)?.message == "invalid \\u escape in string")
    }

    @Test func numbers() throws {
        let big = try JSONParser.parse("12345678901234567890123")
        #expect(big.numberValue?.isInteger == true)
        #expect(big.numberValue?.intValue == nil)
        #expect(big.serializedString() == "12345678901234567890123")
        #expect(big.typeName == "integer")
        let huge = try JSONParser.parse("1e308")
        #expect(huge.numberValue?.doubleValue == 1e308)
        #expect(huge.typeName == "integer")
        #expect(try JSONParser.parse("1e400").numberValue?.doubleValue == .infinity)
        #expect(try JSONParser.parse("1.0") == 1)
        #expect(try JSONParser.parse("1.0").numberValue?.intValue == 1)
        #expect(try JSONParser.parse("-0") == 0)
        #expect(try JSONParser.parse("0.1") == 0.1)
        #expect(try JSONParser.parse("1.5").typeName == "number")
        #expect(try JSONParser.parse("9223372036854775807").numberValue?.intValue == Int.max)
        #expect(try JSONParser.parse("-9223372036854775808").numberValue?.intValue == Int.min)
        #expect(try JSONParser.parse("9223372036854775808").numberValue?.intValue == nil)
        #expect(try JSONParser.parse("0.30000000000000004") == .number(JSONNumber(0.1 + 0.2)))
        #expect(try JSONParser.parse("123456789012345678901.5").serializedString() == "123456789012345678901.5")
    }

    @Test func parsesFromNonContiguousCollections() throws {
        let bytes = Array("[1,\"a\"]".utf8)
        #expect(try JSONParser.parse(bytes.lazy.map { $0 }) == [1, "a"])
        #expect(try JSONParser.parse(AnyCollection(bytes)) == [1, "a"])
        #expect(try JSONParser.parse("[1,\"a\"]".utf8) == [1, "a"])
    }

    @Test func sourceMapLocations() throws {
        let text = """
        {
          "version": 1,
          "modules": [
            { "name": "yt", "tags": ["a", "é", 3] }
          ]
        }
        """
        let (value, map) = try JSONParser.parseWithLocations(Array(text.utf8))
        #expect(value["version"] == 1)
        #expect(map.valueLocation("") == JSONSourceLocation(offset: 0, line: 1, column: 1))
        #expect(map.keyLocation("/version") == JSONSourceLocation(offset: 4, line: 2, column: 3))
        #expect(map.valueLocation("/version") == JSONSourceLocation(offset: 15, line: 2, column: 14))
        #expect(map.keyLocation("/modules/0/name")?.line == 4)
        #expect(map.keyLocation("/modules/0/name")?.column == 7)
        #expect(map.valueLocation("/modules/0/name")?.column == 15)
        #expect(map.valueLocation("/modules/0/tags/2")?.column == 40)
        #expect(map.valueLocation("/modules/0")?.column == 5)
        #expect(map.keyLocation("/modules/0") == nil)
        #expect(map.valueLocation("/nope") == nil)
    }

    @Test func sourceMapWithEscapedPointerTokens() throws {
        let (_, map) = try JSONParser.parseWithLocations(Array(#"{"a/b": {"c~d": true}}"#.utf8))
        #expect(map.valueLocation(JSONPointer(["a/b", "c~d"]))?.offset == 16)
        #expect(map.keyLocation("/a~1b/c~0d")?.offset == 9)
    }
}
