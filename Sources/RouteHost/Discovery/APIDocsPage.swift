import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /docs`: an interactive reference of `/openapi.json` (Swagger UI 5), and its files under
/// `/docs/…`.
///
/// Swagger UI's files are not part of RouteHost: `scripts/setup` fetches them (the static files
/// of the `drf-spectacular-sidecar` wheel on PyPI) into `DOCS_ASSETS_PATH`. They are read once, at
/// start-up, and only the names Swagger UI needs are served (no path from the request reaches the
/// file system). Without them, `/docs` answers a short page saying how to get them.
///
/// The page and its files carry a Content-Security-Policy of their own, since the host's
/// `default-src 'none'` would block Swagger UI: scripts, styles and fetches from this host only
/// (the page's set-up script is a file, not inline; the one inline style of Swagger UI is allowed
/// by its hash), images also as `data:` URIs (Swagger UI's icons), nothing else. "Authorize" takes the API key (`X-API-Key`, the document's security
/// scheme); "Try it out" calls this host with it. `/docs` needs no key; the calls it makes do.
struct APIDocsPage: Sendable {
    /// The files of Swagger UI that are served, by name.
    static let assetNames = ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png"]

    /// The one inline style Swagger UI's bundle injects (of the pinned `drf-spectacular-sidecar`,
    /// see `scripts/setup`), allowed by its hash rather than by `'unsafe-inline'`; the browser test
    /// (`scripts/check-docs`) fails on any policy violation, so a new version says when it changes.
    static let swaggerInlineStyleHash = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='"

    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self' \(swaggerInlineStyleHash); img-src 'self' data:; connect-src 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

    private let assets: [String: ByteBuffer]

    /// Reads Swagger UI's files from `folder`; a missing folder or file leaves the page in its
    /// "how to get them" form.
    init(assetsFolder folder: String) {
        var assets: [String: ByteBuffer] = [:]
        for name in Self.assetNames {
            if let data = FileManager.default.contents(atPath: (folder as NSString).appendingPathComponent(name)) {
                assets[name] = ByteBuffer(bytes: data)
            }
        }
        self.assets = Self.assetNames.prefix(3).allSatisfy { assets[$0] != nil } ? assets : [:]
    }

    var hasAssets: Bool { !assets.isEmpty }

    /// The page.
    func page() -> Response {
        let html = hasAssets ? Self.swaggerPage : Self.missingAssetsPage
        return Self.response(ByteBuffer(string: html), type: "text/html; charset=utf-8")
    }

    /// One of the page's files, or a JSON 404.
    func asset(_ name: String) -> Response {
        if name == "init.js" {
            return Self.response(ByteBuffer(string: Self.initScript), type: "text/javascript; charset=utf-8")
        }
        guard let bytes = assets[name] else {
            return .json(["message": .string("Not Found: /docs/\(name) (the docs page's files are \(Self.assetNames.joined(separator: ", ")))")], status: .notFound)
        }
        let type = switch (name as NSString).pathExtension {
        case "css": "text/css; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "png": "image/png"
        default: "application/octet-stream"
        }
        return Self.response(bytes, type: type)
    }

    private static func response(_ body: ByteBuffer, type: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: type, .contentSecurityPolicy: contentSecurityPolicy, .cacheControl: "no-cache"],
            body: .init(byteBuffer: body))
    }

    static let swaggerPage = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>RouteHost API</title>
          <link rel="stylesheet" href="/docs/swagger-ui.css">
          <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
        </head>
        <body>
          <div id="swagger-ui"></div>
          <script src="/docs/swagger-ui-bundle.js"></script>
          <script src="/docs/swagger-ui-standalone-preset.js"></script>
          <script src="/docs/init.js"></script>
        </body>
        </html>
        """

    static let initScript = """
        window.ui = SwaggerUIBundle({
          url: "/openapi.json",
          dom_id: "#swagger-ui",
          deepLinking: true,
          persistAuthorization: true,
          presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
          layout: "StandaloneLayout"
        });
        """

    static let missingAssetsPage = """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>RouteHost API</title></head>
        <body>
          <h1>RouteHost API</h1>
          <p>The interactive reference needs Swagger UI's files, which are not installed.
          Run <code>scripts/setup</code> (or <code>scripts/serve</code>) to fetch them into
          <code>.tools/swagger-ui</code>, or point <code>DOCS_ASSETS_PATH</code> at a folder with
          <code>swagger-ui.css</code>, <code>swagger-ui-bundle.js</code> and
          <code>swagger-ui-standalone-preset.js</code>, then restart.</p>
          <p>The document itself is at <a href="/openapi.json">/openapi.json</a>.</p>
        </body>
        </html>
        """
}
