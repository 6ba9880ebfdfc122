import Testing
@testable import JSONSchema

@Suite struct SchemaTests {
    static let routeSchema: JSONValue = [
        "type": "object", "required": ["url"], "additionalProperties": false,
        "properties": [
            "url": ["type": "string", "format": "uri"],
            "webhook_url": ["type": "string", "format": "uri"],
            "id": ["type": "string"],
        ],
    ]

    private func errors(_ schema: JSONValue, _ instance: JSONValue, formatAssertion: Bool = false) throws -> [ValidationError] {
        let compiled = try Schema(schema, options: SchemaOptions(formatAssertion: formatAssertion))
        let errors = compiled.validate(instance)
        #expect(compiled.isValid(instance) == errors.isEmpty)
        return errors
    }

    private func message(_ schema: JSONValue, _ instance: JSONValue) throws -> String? {
        try errors(schema, instance).first?.message
    }

    private func schemaError(_ schema: JSONValue) -> SchemaError? {
        do {
            _ = try Schema(schema)
            return nil
        } catch {
            return error
        }
    }

    @Test func routeSchemaAcceptsValidPayload() throws {
        let schema = try Schema(Self.routeSchema, options: SchemaOptions(formatAssertion: true))
        let payload = try JSONParser.parse(#"{"url":"https://www.youtube.com/watch?v=dQw4w9WgXcQ","webhook_url":"https://example.com/hook","id":"abc"}"#)
        #expect(schema.isValid(payload))
        #expect(schema.validate(payload).isEmpty)
    }

    @Test func requiredPointsAtTheMissingProperty() throws {
        let result = try errors(Self.routeSchema, ["id": "x"])
        #expect(result.count == 1)
        #expect(result[0].keyword == "required")
        #expect(result[0].message == "'url' is a required property")
        #expect(result[0].instanceLocation == "/url")
        #expect(result[0].schemaLocation == "/required")
        #expect(result[0].description == "/url: 'url' is a required property")
    }

    @Test func additionalPropertiesPointsAtTheProperty() throws {
        let single = try errors(Self.routeSchema, ["url": "https://a.b", "x": 1])
        #expect(single.map(\.message) == ["Additional properties are not allowed ('x' was unexpected)"])
        #expect(single[0].instanceLocation == "/x")
        #expect(single[0].schemaLocation == "/additionalProperties")
        let plural = try errors(Self.routeSchema, ["url": "https://a.b", "y": 1, "x": 2])
        #expect(plural.map(\.message) == ["Additional properties are not allowed ('x', 'y' were unexpected)"])
        #expect(plural[0].instanceLocation == "/y")
        let patterns: JSONValue = ["additionalProperties": false, "patternProperties": ["^b": [:], "^a": [:]]]
        #expect(try message(patterns, ["x": 1, "c": 2]) == "'c', 'x' do not match any of the regexes: '^a', '^b'")
    }

    @Test func allErrorsInSchemaOrder() throws {
        let result = try errors(Self.routeSchema, ["webhook_url": "not a uri", "id": 5, "x": 1], formatAssertion: true)
        #expect(result.map(\.keyword) == ["required", "additionalProperties", "format", "type"])
        #expect(result.map(\.instanceLocation.description) == ["/url", "/x", "/webhook_url", "/id"])
        #expect(result.map(\.schemaLocation.description) == ["/required", "/additionalProperties", "/properties/webhook_url/format", "/properties/id/type"])
        #expect(result[2].message == "'not a uri' is not a 'uri'")
        #expect(result[3].message == "5 is not of type 'string'")
        #expect(result.best == result[0])
    }

    @Test func formatIsAnAnnotationByDefault() throws {
        #expect(try errors(Self.routeSchema, ["url": "not a uri"]).isEmpty)
        #expect(try errors(Self.routeSchema, ["url": "not a uri"], formatAssertion: true).count == 1)
        #expect(try errors(["format": "no-such-format"], "x", formatAssertion: true).isEmpty)
    }

    @Test func pythonStyleMessages() throws {
        #expect(try message(["type": ["string", "null"]], 5) == "5 is not of type 'string', 'null'")
        #expect(try message(["type": "string"], 1.5) == "1.5 is not of type 'string'")
        #expect(try message(["enum": ["a", "b"]], "x") == "'x' is not one of ['a', 'b']")
        #expect(try message(["enum": [1, nil, true, ["a": [1.5]]]], "x") == "'x' is not one of [1, None, True, {'a': [1.5]}]")
        #expect(try message(["const": ["a": nil]], 1) == "{'a': None} was expected")
        #expect(try message(["minLength": 2], "") == "'' is too short")
        #expect(try message(["minLength": 1], "") == "'' should be non-empty")
        #expect(try message(["maxLength": 0], "a") == "'a' is expected to be empty")
        #expect(try message(["maxLength": 2], "abc") == "'abc' is too long")
        #expect(try message(["pattern": "^b"], "a") == "'a' does not match '^b'")
        #expect(try message(["minimum": 5], 3) == "3 is less than the minimum of 5")
        #expect(try message(["maximum": 5], 6) == "6 is greater than the maximum of 5")
        #expect(try message(["exclusiveMinimum": 5], 5) == "5 is less than or equal to the minimum of 5")
        #expect(try message(["exclusiveMaximum": 5], 5.5) == "5.5 is greater than or equal to the maximum of 5")
        #expect(try message(["multipleOf": 2], 7) == "7 is not a multiple of 2")
        #expect(try message(["multipleOf": 0.5], 7.3) == "7.3 is not a multiple of 0.5")
        #expect(try message(["not": ["type": "string"]], "x") == "'x' should not be valid under {'type': 'string'}")
        #expect(try message(["oneOf": [["type": "string"], ["minLength": 1]]], "x") == "'x' is valid under each of {'minLength': 1}, {'type': 'string'}")
        #expect(try message(["anyOf": [["type": "string"], ["type": "null"]]], 1) == "1 is not valid under any of the given schemas")
        #expect(try message(["items": false, "prefixItems": [[:]]], [1, 2, 3]) == "Expected at most 1 item but found 2 extra: [2, 3]")
        #expect(try message(["items": false, "prefixItems": [[:]]], [1, 2]) == "Expected at most 1 item but found 1 extra: 2")
        #expect(try message(["contains": ["type": "string"]], [1]) == "[1] does not contain items matching the given schema")
        #expect(try message(["contains": ["type": "string"], "minContains": 2], ["a", 1]) == "Too few items match the given schema (expected at least 2 but only 1 matched)")
        #expect(try message(["contains": ["type": "string"], "maxContains": 1], ["a", "b"]) == "Too many items match the given schema (expected at most 1)")
        #expect(try message(["uniqueItems": true], [1, 1.0]) == "[1, 1] has non-unique elements")
        #expect(try message(["minItems": 1], []) == "[] should be non-empty")
        #expect(try message(["maxItems": 1], [1, 2]) == "[1, 2] is too long")
        #expect(try message(["minProperties": 2], ["a": 1]) == "{'a': 1} does not have enough properties")
        #expect(try message(["maxProperties": 0], ["a": 1]) == "{'a': 1} is expected to be empty")
        #expect(try message(["dependentRequired": ["a": ["b"]]], ["a": 1]) == "'b' is a dependency of 'a'")
        #expect(try message(["unevaluatedProperties": false, "properties": ["a": [:]]], ["a": 1, "z": 2, "b": 3]) == "Unevaluated properties are not allowed ('b', 'z' were unexpected)")
        #expect(try message(["unevaluatedProperties": ["type": "string"]], ["a": 1, "z": "x", "b": 3]) == "Unevaluated properties are not valid under the given schema ('a', 'b' were unevaluated and invalid)")
        #expect(try message(["unevaluatedItems": false, "prefixItems": [[:]]], [1, "a", nil]) == "Unevaluated items are not allowed ('a', None were unexpected)")
        #expect(try message(false, ["a": "it's"]) == "False schema does not allow {'a': \"it's\"}")
        #expect(try message(["format": "date"], "2020-13-01") == nil)
        #expect(try errors(["format": "date"], "2020-13-01", formatAssertion: true).first?.message == "'2020-13-01' is not a 'date'")
    }

    @Test func instanceAndSchemaLocationsThroughApplicators() throws {
        let schema: JSONValue = [
            "$defs": ["name": ["type": "string", "minLength": 2]],
            "properties": [
                "items": ["type": "array", "items": ["$ref": "#/$defs/name"]],
                "tags": ["prefixItems": [["pattern": "^t"]]],
            ],
            "allOf": [["properties": ["n": ["minimum": 0]]]],
            "if": ["required": ["kind"]], "then": ["properties": ["kind": ["const": "x"]]],
        ]
        let result = try errors(schema, ["items": ["ok", "a"], "tags": ["x"], "n": -1, "kind": "y"])
        #expect(result.map(\.instanceLocation.description) == ["/items/1", "/tags/0", "/n", "/kind"])
        #expect(result.map(\.schemaLocation.description) == [
            "/properties/items/items/$ref/minLength", "/properties/tags/prefixItems/0/pattern",
            "/allOf/0/properties/n/minimum", "/then/properties/kind/const",
        ])
        #expect(result.map(\.message) == ["'a' is too short", "'x' does not match '^t'", "-1 is less than the minimum of 0", "'x' was expected"])
    }

    @Test func bestPrefersShallowestThenSchemaOrder() {
        func error(_ path: JSONPointer, _ keyword: String) -> ValidationError {
            ValidationError(instanceLocation: path, schemaLocation: JSONPointer([keyword]), keyword: keyword, message: keyword)
        }
        let list = [error("/a/b", "deep"), error("/x", "first"), error("/y", "second"), error("/p/q/r", "deeper")]
        #expect(list.best?.keyword == "first")
        #expect([error("", "root"), error("/x", "child")].best?.keyword == "root")
        #expect([ValidationError]().best == nil)
    }

    @Test func lengthCountsCodePoints() throws {
        #expect(try errors(["maxLength": 2], "😀👍").isEmpty)
        #expect(try errors(["minLength": 3], "😀👍").count == 1)
        #expect(try errors(["maxLength": 1], "é").isEmpty)
        #expect(try errors(["maxLength": 1], "e\u{301}").count == 1)
    }

    @Test func exactNumbers() throws {
        let schema = try Schema(["multipleOf": 0.0001])
        #expect(schema.isValid(try JSONParser.parse("0.0075")))
        #expect(!schema.isValid(try JSONParser.parse("0.00751")))
        #expect(!(try Schema(["multipleOf": 0.123456789])).isValid(try JSONParser.parse("1e308")))
        let integer = try Schema(try JSONParser.parse(#"{"type": "integer", "maximum": 12345678901234567890123}"#))
        #expect(integer.isValid(try JSONParser.parse("12345678901234567890000")))
        #expect(integer.isValid(try JSONParser.parse("1.0")))
        #expect(!integer.isValid(try JSONParser.parse("1.5")))
    }

    @Test func ecmaRegexSemantics() throws {
        #expect(try Schema(["pattern": "^\\p{Letter}+$"]).isValid("héllo"))
        #expect(!(try Schema(["pattern": "^\\d+$"])).isValid("١٢٣"))
        #expect(try Schema(["pattern": "^\\d+$"]).isValid("123"))
        #expect(!(try Schema(["pattern": "^\\w$"])).isValid("é"))
        #expect(try Schema(["pattern": "^\\s$"]).isValid("\u{FEFF}"))
        #expect(!(try Schema(["pattern": "^a$"])).isValid("a\n"))
        #expect(try Schema(["pattern": "\\bfoo\\b"]).isValid("éfoo"))
        #expect(try Schema(["pattern": "^.$"]).isValid("😀"))
        #expect(try Schema(["pattern": "(?<=a)b"]).isValid("ab"))
        #expect(try Schema(["patternProperties": ["^x-": ["type": "string"]]]).isValid(["x-a": "s", "y": 1]))
        #expect(try Schema(["pattern": "^a\\-b\\_c$"]).isValid("a-b_c"))
        #expect(throws: SchemaError.self) { try Schema(["pattern": "\\a"]) }
        #expect(throws: SchemaError.self) { try Schema(["pattern": "(?i)abc"]) }
        #expect(throws: SchemaError.self) { try Schema(["pattern": "a**"]) }
        #expect(!(try Schema(["format": "regex"], options: SchemaOptions(formatAssertion: true))).isValid("a\\-b"))
    }

    @Test func schemaErrorsPointAtTheKeyword() {
        let type = schemaError(["type": "strin"])
        #expect(type?.pointer == "/type")
        #expect(type?.message == "'strin' is not a valid type (expected one of 'array', 'boolean', 'integer', 'null', 'number', 'object', 'string')")
        #expect(type?.description.hasPrefix("at /type: 'strin' is not a valid type") == true)
        #expect(schemaError(["properties": ["url": ["type": "strin"]]])?.pointer == "/properties/url/type")
        #expect(schemaError(["type": ["string", "nul"]])?.pointer == "/type/1")
        #expect(schemaError(["minLength": -1])?.pointer == "/minLength")
        #expect(schemaError(["minLength": 1.5])?.pointer == "/minLength")
        #expect(schemaError(["pattern": "("])?.pointer == "/pattern")
        #expect(schemaError(["pattern": "("])?.message.hasPrefix("'(' is not a valid regular expression") == true)
        #expect(schemaError(["patternProperties": ["[": [:]]])?.pointer == "/patternProperties/[")
        #expect(schemaError(["$ref": "#/nope"])?.pointer == "/$ref")
        #expect(schemaError(["$ref": "#/nope"])?.message == "cannot resolve '#/nope': 'https://routehost.invalid/schema.json' has nothing at '/nope'")
        #expect(schemaError(["$ref": "other.json"])?.pointer == "/$ref")
        #expect(schemaError(["items": ["$ref": "#missing"]])?.pointer == "/items/$ref")
        #expect(schemaError(["required": ["a", "a"]])?.pointer == "/required")
        #expect(schemaError(["multipleOf": 0])?.pointer == "/multipleOf")
        #expect(schemaError(["allOf": []])?.pointer == "/allOf")
        #expect(schemaError(["properties": ["a": 5]])?.pointer == "/properties/a")
        #expect(schemaError(["$defs": ["a": ["enum": 5]]])?.pointer == "/$defs/a/enum")
        #expect(schemaError("string")?.pointer == "")
        #expect(schemaError(["$schema": "http://json-schema.org/draft-07/schema#"])?.pointer == "/$schema")
        #expect(schemaError(["$schema": "https://json-schema.org/draft/2020-12/schema", "type": "string"]) == nil)
    }

    @Test func registryResolvesRegisteredDocuments() throws {
        var registry = SchemaRegistry()
        try registry.register(["$defs": ["id": ["type": "string", "minLength": 3]]], uri: "https://example.com/common.json")
        let schema = try Schema(["properties": ["id": ["$ref": "https://example.com/common.json#/$defs/id"]]],
                                options: SchemaOptions(registry: registry))
        #expect(schema.isValid(["id": "abc"]))
        #expect(!schema.isValid(["id": "ab"]))
        #expect(throws: SchemaError.self) { try registry.register(true, uri: "relative.json") }
    }

    @Test func recursiveSchemas() throws {
        let tree: JSONValue = [
            "type": "object",
            "properties": ["value": ["type": "integer"], "children": ["type": "array", "items": ["$ref": "#"]]],
            "additionalProperties": false,
        ]
        let schema = try Schema(tree)
        let good: JSONValue = ["value": 1, "children": [["value": 2, "children": []], ["value": 3]]]
        let bad: JSONValue = ["value": 1, "children": [["value": 2, "children": [["value": "x"]]]]]
        #expect(schema.isValid(good))
        #expect(!schema.isValid(bad))
        #expect(schema.validate(bad).first?.instanceLocation == "/children/0/children/0/value")
        #expect(schema.validate(bad).first?.schemaLocation == "/properties/children/items/$ref/properties/children/items/$ref/properties/value/type")
    }

    @Test func concurrentValidationGivesIdenticalResults() async throws {
        var source = Self.routeSchema.objectValue!
        source["properties"]!.objectValue.map { properties in
            var properties = properties
            properties["id"] = ["type": "string", "pattern": "^[a-z0-9]+$"]
            source["properties"] = .object(properties)
        }
        source["patternProperties"] = ["^x-\\p{Letter}+$": ["type": "integer"]]
        let schema = try Schema(.object(source), options: SchemaOptions(formatAssertion: true))
        let instances: [JSONValue] = [
            ["url": "https://example.com", "id": "abc1"],
            ["url": "https://example.com", "id": "ABC", "x-é": "no"],
            ["webhook_url": "nope", "id": 5, "x": 1],
            ["url": 3],
            "not an object",
        ]
        let expected = instances.map { (schema.isValid($0), schema.validate($0)) }
        let results = await withTaskGroup(of: [Bool].self) { group in
            for task in 0..<64 {
                group.addTask {
                    var matches: [Bool] = []
                    for round in 0..<50 {
                        let i = (task + round) % instances.count
                        matches.append(schema.isValid(instances[i]) == expected[i].0 && schema.validate(instances[i]) == expected[i].1)
                    }
                    return matches
                }
            }
            var all: [Bool] = []
            for await matches in group { all += matches }
            return all
        }
        #expect(results.count == 64 * 50)
        #expect(results.allSatisfy { $0 })
    }
}

@Suite struct SchemaRobustnessTests {
    @Test func inPlaceReferenceCyclesAreSchemaErrors() {
        let cases: [(JSONValue, JSONPointer)] = [
            (["$ref": "#"], ""),
            (["$defs": ["a": ["$ref": "#/$defs/b"], "b": ["anyOf": [["type": "string"], ["$ref": "#/$defs/a"]]]], "$ref": "#/$defs/a"], "/$defs/a"),
            (["properties": ["x": ["not": ["$ref": "#/properties/x"]]]], "/properties/x"),
        ]
        for (source, pointer) in cases {
            do {
                _ = try Schema(source)
                Issue.record("compiled \(source)")
            } catch {
                #expect(error.pointer == pointer)
                #expect(error.message.hasPrefix("this schema applies itself to the same instance without end"))
            }
        }
    }

    @Test func evaluationDepthIsBounded() throws {
        let depth = 1_500
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let value = try JSONParser.parse(text, options: .init(maxDepth: depth))
        let schema = try Schema(["items": ["$ref": "#"]])
        let valid = schema.isValid(value)
        #expect(!valid)
        let message = schema.validate(value).first?.message ?? ""
        #expect(message.hasPrefix("schema evaluation is nested deeper than 2000 levels"))
    }

    @Test func deeplyNestedInstanceAgainstRecursiveSchema() throws {
        let depth = 500
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let value = try JSONParser.parse(text)
        let schema = try Schema(["type": "array", "items": ["$ref": "#"]])
        let valid = schema.isValid(value)
        let errors = schema.validate(value)
        let validAgainstEmptyOnly = try Schema(["type": "array", "items": ["$ref": "#"], "maxItems": 0]).isValid(value)
        #expect(valid)
        #expect(errors.isEmpty)
        #expect(!validAgainstEmptyOnly)
    }
}

@Suite struct MessageTests {
    @Test func hugeInstancesAreAbbreviatedInMessages() throws {
        let big = JSONValue.array((0..<10_000).map { JSONValue($0) })
        let message = try Schema(["type": "object"]).validate(big).first?.message ?? ""
        #expect(message.hasPrefix("[0, 1, 2, 3"))
        #expect(message.hasSuffix("... is not of type 'object'"))
        #expect(message.utf8.count < 400)
        let long = JSONValue.string(String(repeating: "é", count: 1_000))
        #expect((try Schema(["maxLength": 3]).validate(long).first?.message.utf8.count ?? 0) < 400)
    }

    @Test func pythonReprQuoting() {
        #expect(pythonRepr("it's") == "\"it's\"")
        #expect(pythonRepr("say \"hi\"") == "'say \"hi\"'")
        #expect(pythonRepr("both ' and \"") == "'both \\' and \"'")
        #expect(pythonRepr("tab\there\nnew\\") == "'tab\\there\\nnew\\\\'")
        #expect(pythonRepr("\u{1}") == "'\\x01'")
        #expect(pythonRepr(["a": [true, nil, 1.5]]) == "{'a': [True, None, 1.5]}")
    }
}

@Suite struct FormatTests {
    private func check(_ format: String, _ value: String) throws -> Bool {
        try Schema(["format": .string(format)], options: SchemaOptions(formatAssertion: true)).isValid(.string(value))
    }

    @Test func hugeInputsAreRejectedQuickly() throws {
        let long = String(repeating: "é", count: 200_000)
        #expect(!(try check("idn-hostname", long)))
        #expect(!(try check("hostname", long)))
        #expect(!(try check("idn-email", "a@" + long)))
        #expect(try check("uri", "https://example.com/" + String(repeating: "a", count: 200_000)))
    }

    @Test func commonFormats() throws {
        #expect(try check("uri", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"))
        #expect(!(try check("uri", "www.youtube.com/watch")))
        #expect(!(try check("uri", "https://exa mple.com")))
        #expect(try check("email", "joe@example.com"))
        #expect(try check("date-time", "2024-02-29T12:00:00Z"))
        #expect(!(try check("date-time", "2023-02-29T12:00:00Z")))
        #expect(try check("uuid", "2eb8aa08-aa98-11ea-b4aa-73b441d16380"))
        #expect(try check("ipv6", "::ffff:192.168.0.1"))
        #expect(try check("idn-hostname", "실례.테스트"))
        #expect(try check("duration", "P1Y2M3DT4H5M6S"))
    }
}
