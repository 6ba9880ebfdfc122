import Foundation
import JSONSchema
import Logging
import RouteHost
import Testing

@Suite struct ManifestDiagnosticsTests {
    /// The diagnostics of loading and binding `manifest`, as printed.
    func diagnostics(_ manifest: String, environment: [String: String] = [:]) -> [String] {
        let env = TestHost.environment(environment)
        do {
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            _ = try RouteHostServer(
                manifestBytes: Array(manifest.utf8), path: "routes.json", baseDirectory: ".", catalog: .withBuiltIns([EchoModule.self]),
                environment: env, logger: logger, isServing: false)
            return []
        } catch let error as ManifestError {
            return error.diagnostics.map(\.description)
        } catch {
            return ["unexpected: \(error)"]
        }
    }

    func module(_ routes: String, config: String = #"{"greeting":"hi"}"#) -> String {
        """
        {
          "version": 1,
          "modules": [
            {
              "name": "echo", "plugin": "echo", "prefix": "/v1/echo", "config": \(config),
              "routes": [
        \(routes)
              ]
            }
          ]
        }
        """
    }

    @Test func validManifestLoads() {
        #expect(diagnostics(TestHost.echoManifest) == [])
    }

    @Test func malformedJSONReportsThePosition() {
        let result = diagnostics("{\n  \"version\": 1,\n  \"modules\": [\n}")
        #expect(result.count == 1)
        #expect(result.first?.hasPrefix("routes.json:4:1: error: malformed JSON: ") == true, "\(result)")
        #expect(result.first?.hasSuffix("(routes.json must be one JSON object)") == true)
    }

    @Test func unknownKeySuggestsTheNearestOne() {
        let result = diagnostics(module(#"        { "method": "GET", "path": "/plain", "handlr": "plain" }"#))
        #expect(result.contains("routes.json:7:46: error: unknown key 'handlr' (did you mean 'handler'?)"))
        #expect(result.contains("routes.json:7:9: error: missing required key 'handler' (add \"handler\": the name of one of the plugin's handlers)"))
    }

    @Test func unknownTopLevelKey() {
        #expect(diagnostics(#"{"version": 1, "modules": [], "modles": []}"#) == [
            "routes.json:1:31: error: unknown key 'modles' (did you mean 'modules'?)"
        ])
    }

    @Test func missingFields() {
        #expect(diagnostics(#"{"modules": []}"#) == [#"routes.json:1:1: error: missing required key 'version' (add "version": 1)"#])
        #expect(diagnostics(#"{"version": 1}"#).first?.hasPrefix("routes.json:1:1: error: missing required key 'modules'") == true)
        #expect(diagnostics(#"{"version": 1, "modules": [{"name": "x", "routes": []}]}"#).first?.hasPrefix("routes.json:1:28: error: missing required key 'plugin'") == true)
    }

    @Test func badMethod() {
        let result = diagnostics(module(#"        { "method": "FETCH", "path": "/plain", "handler": "plain" }"#))
        #expect(result == ["routes.json:7:21: error: unsupported method 'FETCH' (use one of GET, POST, PUT, PATCH, DELETE)"])
        let lower = diagnostics(module(#"        { "method": "get", "path": "/plain", "handler": "plain" }"#))
        #expect(lower == [#"routes.json:7:21: error: method 'get' must be uppercase (write "GET")"#])
    }

    @Test func bodyPolicy() {
        let unknown = diagnostics(module(#"        { "method": "POST", "path": "/say", "handler": "echo", "body": "maybe" }"#))
        #expect(unknown == [#"routes.json:7:72: error: unknown body policy 'maybe' (use "required" or "optional")"#], "\(unknown)")
        let bodyless = diagnostics(module(#"        { "method": "GET", "path": "/plain", "handler": "plain", "body": "optional" }"#))
        #expect(bodyless == [#"routes.json:7:74: error: a GET route has no body (remove "body", or use POST)"#], "\(bodyless)")
        #expect(diagnostics(module(#"        { "method": "POST", "path": "/say", "handler": "echo", "body": "optional" }"#)) == [])
    }

    @Test func badPath() {
        let result = diagnostics(module(#"        { "method": "GET", "path": "plain/", "handler": "plain" }"#))
        #expect(result.first?.hasPrefix("routes.json:7:36: error: path 'plain/' is not valid") == true)
    }

    @Test func duplicateRoute() {
        let routes = """
                    { "method": "GET", "path": "/plain", "handler": "plain" },
                    { "method": "GET", "path": "/plain", "handler": "plain" }
            """
        #expect(diagnostics(module(routes)) == [
            "routes.json:8:9: error: duplicate route GET /v1/echo/plain (already declared by module 'echo' on line 7) (change the path or the method of one of them, or disable a module)"
        ])
    }

    @Test func duplicateAcrossModulesAndReservedPaths() {
        let manifest = """
            {"version": 1, "modules": [
              {"name": "a", "plugin": "echo", "prefix": "/x", "config": {"greeting": "hi"}, "routes": [{"method": "GET", "path": "/p", "handler": "plain"}]},
              {"name": "b", "plugin": "echo", "prefix": "/x", "config": {"greeting": "hi"}, "routes": [{"method": "GET", "path": "/p", "handler": "plain"}]},
              {"name": "c", "plugin": "echo", "prefix": "", "config": {"greeting": "hi"}, "routes": [{"method": "GET", "path": "/health", "handler": "plain"}]}
            ]}
            """
        let result = diagnostics(manifest)
        #expect(result.contains { $0.hasPrefix("routes.json:3:92: error: duplicate route GET /x/p (already declared by module 'a' on line 2)") })
        #expect(result.contains { $0.hasPrefix("routes.json:4:116: error: '/health' is served by the host itself") })
    }

    @Test func everyHostPathIsReserved() {
        for path in ["/health", "/ready", "/metrics", "/openapi.json", "/docs", "/docs/swagger-ui.css"] {
            let manifest = #"{"version": 1, "modules": [{"name": "c", "plugin": "echo", "prefix": "", "config": {"greeting": "hi"}, "routes": [{"method": "GET", "path": "\#(path)", "handler": "plain"}]}]}"#
            let result = diagnostics(manifest)
            #expect(result.contains { $0.contains("error: '\(path)' is served by the host itself") }, "\(path): \(result)")
        }
        #expect(diagnostics(#"{"version": 1, "modules": [{"name": "c", "plugin": "echo", "prefix": "", "config": {"greeting": "hi"}, "routes": [{"method": "GET", "path": "/docsx", "handler": "plain"}]}]}"#) == [])
    }

    @Test func unknownPlugin() {
        let manifest = #"{"version": 1, "modules": [{"name": "e", "plugin": "ecko", "prefix": "/e", "routes": []}]}"#
        #expect(diagnostics(manifest) == [
            "routes.json:1:52: error: unknown plugin 'ecko' (did you mean 'echo'?; a new plugin also needs a line in the executable's plugin catalog)"
        ])
    }

    @Test func unknownHandler() {
        let result = diagnostics(module(#"        { "method": "GET", "path": "/plain", "handler": "plian" }"#))
        #expect(result == ["routes.json:7:57: error: plugin 'echo' has no handler 'plian' (did you mean 'plain'?)"])
    }

    @Test func handlerKindMustMatchTheRoute() {
        let routes = """
                    { "method": "POST", "path": "/a", "handler": "bytes" },
                    { "method": "POST", "path": "/b", "handler": "echo", "stream": true },
                    { "method": "GET", "path": "/c", "handler": "plain", "queue": "webhook" },
                    { "method": "POST", "path": "/d", "handler": "plain", "queue": "webhook" }
            """
        let result = diagnostics(module(routes))
        #expect(result.contains { $0.hasPrefix("routes.json:7:54: error: handler 'bytes' streams its response") })
        #expect(result.contains { $0.hasPrefix("routes.json:8:54: error: handler 'echo' does not stream") })
        #expect(result.contains { $0.hasPrefix("routes.json:9:71: error: a GET route cannot be queued") })
        #expect(result.contains { $0.hasPrefix("routes.json:10:54: error: handler 'plain' does not answer with the envelope") })
    }

    @Test func pluginConfigurationErrors() {
        let plain = #"        { "method": "GET", "path": "/plain", "handler": "plain" }"#
        #expect(diagnostics(module(plain, config: #"{"greeting": ""}"#)) == [
            #"routes.json:5:86: error: plugin 'echo' rejected its configuration: greeting must not be empty (write a greeting such as "hello")"#
        ])
        #expect(diagnostics(module(plain, config: #"{"greeting": "hi", "shuot": true}"#)) == [
            "routes.json:5:92: error: unknown setting 'shuot' for plugin 'echo' (did you mean 'shout'?)"
        ])
        #expect(diagnostics(module(plain, config: #"{"greeting": 5}"#)) == [
            "routes.json:5:86: error: invalid configuration for plugin 'echo': expected a string (see the plugin's settings in the README)"
        ])
        #expect(diagnostics(module(plain, config: #"{}"#)).first?.hasPrefix("routes.json:5:73: error: invalid configuration for plugin 'echo': missing required setting 'greeting'") == true)
    }

    @Test func environmentInterpolation() throws {
        let plain = #"        { "method": "GET", "path": "/plain", "handler": "plain" }"#
        #expect(diagnostics(module(plain, config: #"{"greeting": "${GREETING}"}"#)) == [
            "routes.json:5:86: error: environment variable GREETING is not set (set GREETING, or give a default: ${GREETING:-value})"
        ])
        #expect(diagnostics(module(plain, config: #"{"greeting": "${GREETING}"}"#), environment: ["GREETING": "yo"]) == [])
        #expect(diagnostics(module(plain, config: #"{"greeting": "${GREETING"}"#)).first?.contains("unterminated") == true)
        let manifest = try ManifestLoader(environment: TestHost.environment(["HOST_A": "a.example"]))
            .load(bytes: Array(module(plain, config: #"{"greeting": "http://${HOST_A}:${PORT_A:-81}/$${x}"}"#).utf8), path: "routes.json", baseDirectory: ".")
        #expect(manifest.modules[0].config["greeting"] == "http://a.example:81/${x}")
    }

    @Test func invalidSchemaIsReportedAtTheKeyword() {
        let route = #"        { "method": "POST", "path": "/say", "handler": "echo", "schema": { "type": "strin" } }"#
        let result = diagnostics(module(route))
        #expect(result.count == 1)
        #expect(result.first?.hasPrefix("routes.json:7:84: error: invalid schema") == true, "\(result)")
    }

    @Test func schemaFilesAreReadRelativeToTheManifest() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("routehost-manifest-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("schemas"), withIntermediateDirectories: true)
        try Data(#"{"type":"object","required":["text"]}"#.utf8).write(to: directory.appendingPathComponent("schemas/say.json"))
        try Data("{\n  \"type\": \"objet\"\n}".utf8).write(to: directory.appendingPathComponent("schemas/bad.json"))
        let good = module(#"        { "method": "POST", "path": "/say", "handler": "echo", "schema": "schemas/say.json" }"#)
        try Data(good.utf8).write(to: directory.appendingPathComponent("routes.json"))
        let manifest = try ManifestLoader(environment: TestHost.environment()).load(path: directory.appendingPathComponent("routes.json").path)
        #expect(manifest.modules[0].routes[0].schema?.file == "schemas/say.json")
        #expect(manifest.modules[0].routes[0].schema?.json["required"] == ["text"])

        let bad = module(#"        { "method": "POST", "path": "/say", "handler": "echo", "schema": "schemas/bad.json" }"#)
        try Data(bad.utf8).write(to: directory.appendingPathComponent("routes.json"))
        #expect(throws: ManifestError.self) {
            try ManifestLoader(environment: TestHost.environment()).load(path: directory.appendingPathComponent("routes.json").path)
        }
        do {
            _ = try ManifestLoader(environment: TestHost.environment()).load(path: directory.appendingPathComponent("routes.json").path)
        } catch {
            #expect(error.diagnostics.first?.description.hasPrefix("schemas/bad.json:2:11: error: invalid schema") == true)
        }

        let missing = module(#"        { "method": "POST", "path": "/say", "handler": "echo", "schema": "schemas/none.json" }"#)
        #expect(diagnostics(missing).first?.contains("cannot read schema file 'schemas/none.json'") == true)
    }

    @Test func severalErrorsAreReportedAtOnceInFileOrder() {
        let routes = """
                    { "method": "FETCH", "path": "/a", "handler": "plain" },
                    { "method": "GET", "path": "/b", "handler": "nope" },
                    { "method": "GET", "path": "/c", "handler": "plain", "queue": "later" }
            """
        let result = diagnostics(module(routes))
        #expect(result.count == 3)
        #expect(result.map { $0.split(separator: ":")[1] } == ["7", "8", "9"])
    }

    @Test func disabledModulesAreCheckedButNotMounted() throws {
        let manifest = """
            {"version": 1, "modules": [
              {"name": "e", "plugin": "echo", "prefix": "/e", "enabled": false, "config": {"greeting": "hi"}, "routes": [{"method": "GET", "path": "/p", "handler": "plain"}]}
            ]}
            """
        #expect(diagnostics(manifest) == [])
        let server = try TestHost.server(manifest: manifest)
        #expect(server.registry.routes.isEmpty)
        let broken = manifest.replacingOccurrences(of: #""handler": "plain""#, with: #""handler": "nope""#)
        #expect(diagnostics(broken).count == 1)
    }

    @Test func repositoryManifestIsValid() throws {
        var directory = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) {
            directory.deleteLastPathComponent()
        }
        let manifest = try ManifestLoader(environment: TestHost.environment()).load(path: directory.appendingPathComponent("routes.json").path)
        #expect(manifest.modules.map(\.name) == ["toolkit", "youtube"])
    }
}
