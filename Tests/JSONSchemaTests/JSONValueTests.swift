import Testing
@testable import JSONSchema

@Suite struct JSONValueTests {
    @Test func equalityFollowsJSONSchema() throws {
        #expect(JSONValue.number(JSONNumber(1)) == .number(JSONNumber(1.0)))
        #expect(JSONValue(1) != JSONValue(true))
        #expect(JSONValue(0) != JSONValue(false))
        let a = try JSONParser.parse(#"{"a":1,"b":[1.0,{"c":null}]}"#)
        let b = try JSONParser.parse(#"{"b":[1,{"c":null}],"a":1.0}"#)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set<JSONValue>([1, 1.0, "1", true]).count == 3)
        #expect(JSONValue.string("\u{e9}") != .string("e\u{301}"))
    }

    @Test func numberProperties() throws {
        #expect(JSONNumber(2.0).isInteger)
        #expect(JSONNumber(2.0).intValue == 2)
        #expect(!JSONNumber(2.5).isInteger)
        #expect(JSONNumber(1e300).isInteger)
        #expect(JSONNumber(1e300).intValue == nil)
        #expect(JSONNumber(3) < JSONNumber(3.5))
        #expect(JSONNumber(-1) < JSONNumber(-0.5))
        let big = try JSONParser.parse("12345678901234567890123").numberValue!
        #expect(JSONNumber(Int.max) < big)
        #expect(big < JSONNumber(1e23))
        #expect(JSONNumber(1e22) < big)
    }

    @Test func exactMultipleOf() throws {
        func number(_ text: String) throws -> JSONNumber { try JSONParser.parse(text).numberValue! }
        #expect(try number("0.0075").isMultiple(of: number("0.0001")))
        #expect(try !number("0.00751").isMultiple(of: number("0.0001")))
        #expect(try number("4.5").isMultiple(of: number("1.5")))
        #expect(try !number("35").isMultiple(of: number("1.5")))
        #expect(try !number("1e308").isMultiple(of: number("0.123456789")))
        #expect(try number("1e308").isMultiple(of: number("0.5")))
        #expect(try number("12345678901234567890123").isMultiple(of: number("3")))
        #expect(try !number("12345678901234567890124").isMultiple(of: number("3")))
        #expect(try number("24691357802469135780246").isMultiple(of: number("12345678901234567890123")))
        #expect(JSONNumber(Int.min).isMultiple(of: JSONNumber(-1)))
        #expect(JSONNumber(0.3).isMultiple(of: JSONNumber(0.1)))
    }

    @Test func serializationEscaping() {
        let value: JSONValue = ["q\"b\\s/\n\r\t\u{8}\u{c}\u{1}\u{1f}é😀"]
        #expect(value.serializedString() == #"["q\"b\\s/\n\r\t\b\f\u0001\u001fé😀"]"#)
        #expect(Array(JSONValue.string("😀").serialized()) == [0x22, 0xF0, 0x9F, 0x98, 0x80, 0x22])
    }

    @Test func escapingMatchesNaiveEscaper() throws {
        func naive(_ string: String) -> String {
            var out = "\""
            for scalar in string.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "\u{8}": out += "\\b"
                case "\u{c}": out += "\\f"
                case _ where scalar.value < 0x20:
                    out += "\\u00" + (scalar.value < 16 ? "0" : "1") + String(scalar.value % 16, radix: 16)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Unicode.Scalar] = ["a", "b", " ", "\"", "\\", "\n", "\u{1}", "\u{1f}", "é", "😀", "/", "~", "\u{7f}"]
        for length in 0..<40 {
            for _ in 0..<20 {
                var text = ""
                for _ in 0..<length { text.unicodeScalars.append(alphabet.randomElement(using: &generator)!) }
                let encoded = JSONValue.string(text).serializedString()
                #expect(encoded == naive(text))
                #expect(try JSONParser.parse(encoded) == .string(text))
            }
        }
    }

    @Test func serializesNumbers() throws {
        #expect(JSONValue(1.0).serializedString() == "1")
        #expect(JSONValue(-42).serializedString() == "-42")
        #expect(JSONValue(0.1).serializedString() == "0.1")
        #expect(JSONValue(1.5e-7).serializedString() == "1.5e-07")
        #expect(JSONValue(1e300).serializedString() == "1e+300")
        #expect(JSONValue(Double.nan).serializedString() == "null")
        #expect(JSONValue(Int.min).serializedString() == "-9223372036854775808")
        for text in ["0.0075", "1e308", "-1.25", "123456789012345678901234567890", "1.2345678901234567890123e-30", "5e-324"] {
            let value = try JSONParser.parse(text)
            #expect(try JSONParser.parse(value.serializedString()) == value, "\(text)")
        }
    }

    @Test func roundTripsNonBMPAndPretty() throws {
        let value: JSONValue = ["emoji": "😀👍🏽", "list": [1, [], [:]], "nested": ["a": nil]]
        let compact = value.serializedString()
        #expect(compact == #"{"emoji":"😀👍🏽","list":[1,[],{}],"nested":{"a":null}}"#)
        #expect(try JSONParser.parse(compact) == value)
        let pretty = value.serializedString(pretty: true)
        #expect(pretty == """
        {
          "emoji": "😀👍🏽",
          "list": [
            1,
            [],
            {}
          ],
          "nested": {
            "a": null
          }
        }
        """)
        #expect(try JSONParser.parse(pretty) == value)
    }

    @Test func objectMutation() {
        var object = JSONObject()
        for i in 0..<30 { object["k\(i)"] = JSONValue(i) }
        object["k3"] = "x"
        object["k4"] = nil
        #expect(object.count == 29)
        #expect(object["k3"] == "x")
        #expect(object["k4"] == nil)
        #expect(object["k29"] == 29)
        #expect(object.keys.first == "k0")
        #expect(Array(object.map(\.key).prefix(5)) == ["k0", "k1", "k2", "k3", "k5"])
    }

    @Test func accessorsAndTypeNames() {
        let value: JSONValue = ["s": "x", "b": true, "n": 1.5, "i": 2, "a": [1], "o": [:], "z": nil]
        #expect(value["s"]?.stringValue == "x")
        #expect(value["b"]?.boolValue == true)
        #expect(value["n"]?.numberValue?.doubleValue == 1.5)
        #expect(value["a"]?.arrayValue?.count == 1)
        #expect(value["o"]?.objectValue?.count == 0)
        #expect(["s", "b", "n", "i", "a", "o", "z"].map { value[$0]!.typeName }
                == ["string", "boolean", "number", "integer", "array", "object", "null"])
        #expect(value["missing"] == nil)
        #expect(JSONValue.string("x")["a"] == nil)
    }

    @Test func pointers() throws {
        let pointer = try JSONPointer(parsing: "/a~1b/0/c~0d")
        #expect(pointer.tokens == ["a/b", "0", "c~d"])
        #expect(pointer.description == "/a~1b/0/c~0d")
        #expect(JSONPointer().description == "")
        #expect(JSONPointer().appending("url").description == "/url")
        #expect(JSONPointer(["a"]).appending(3).description == "/a/3")
        #expect(throws: JSONPointerError.self) { try JSONPointer(parsing: "a") }
        #expect(throws: JSONPointerError.self) { try JSONPointer(parsing: "/a~2") }
        #expect(try JSONPointer(parsing: "/").tokens == [""])
        let doc: JSONValue = ["a/b": [["c~d": 5]]]
        #expect(pointer.resolve(in: doc) == 5)
        #expect(JSONPointer("/a~1b/01").resolve(in: doc) == nil)
    }
}
