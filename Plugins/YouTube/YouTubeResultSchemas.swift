import JSONSchema

/// What the YouTube routes answer, as JSON Schemas and examples for the OpenAPI document: the
/// original integration's shapes, which its clients read.
enum YouTubeResultSchemas {
    static let discovery: JSONValue = [
        "type": "object",
        "required": ["service", "version", "microservice_url", "microservice_healthy", "microservice_info", "endpoints", "configuration"],
        "properties": [
            "service": ["const": "YouTube Integration"],
            "version": ["type": "string"],
            "microservice_url": ["type": ["string", "null"], "description": "The downloader's URL without credentials; null for the embedded backend"],
            "microservice_healthy": ["type": "boolean"],
            "microservice_info": ["type": "object", "description": "The downloader's GET / answer, or the tools; {} when unhealthy"],
            "endpoints": ["type": "object", "additionalProperties": ["type": "string"], "description": "Full path → \"METHOD - summary\""],
            "configuration": [
                "type": "object", "required": ["timeout", "retry_attempts", "retry_delay"],
                "properties": ["timeout": ["type": "number"], "retry_attempts": ["type": "integer"], "retry_delay": ["type": "number"]],
            ],
            "description": ["type": "string"],
            "backend": ["type": "object"],
            "routes": ["type": "array", "items": ["type": "object"]],
        ],
    ]

    static let discoveryExample: JSONValue = [
        "service": "YouTube Integration", "version": "1.0.0", "microservice_url": "http://localhost:3001", "microservice_healthy": true,
        "microservice_info": ["service": "youtube-downloader", "version": "1.0.0"],
        "endpoints": [
            "/v1/media/youtube": "GET - Service information", "/v1/media/youtube/health": "GET - Health check",
            "/v1/media/youtube/info": "POST - Get video information",
            "/v1/media/youtube/mp3": "POST - Download audio as MP3 (streaming)",
            "/v1/media/youtube/mp4": "POST - Download video as MP4 (streaming)",
        ],
        "configuration": ["timeout": 30, "retry_attempts": 3, "retry_delay": 1],
    ]

    /// The 200 answer; a 503 is `{"status": "unhealthy" | "unavailable", "error", "url"}`.
    static let health: JSONValue = [
        "type": "object", "required": ["status", "microservice", "url", "timeout"],
        "properties": [
            "status": ["const": "healthy"], "microservice": ["type": "object", "description": "The downloader's /healthz answer, or the tools"],
            "url": ["type": ["string", "null"]], "timeout": ["type": "number"],
        ],
    ]

    static let healthExample: JSONValue = [
        "status": "healthy",
        "microservice": ["status": "healthy", "service": "youtube-downloader", "version": "1.0.0", "uptime": 3600, "timestamp": "2026-12-04T10:00:00.000Z"],
        "url": "http://localhost:3001", "timeout": 30,
    ]

    /// The envelope's `response`: the downloader's whole answer.
    static let info: JSONValue = [
        "type": "object", "required": ["success", "data"],
        "properties": [
            "success": ["const": true],
            "data": [
                "type": "object", "required": ["videoId"],
                "properties": [
                    "videoId": ["type": "string"], "title": ["type": "string"], "lengthSeconds": ["type": "string"],
                    "author": ["type": "object"], "formats": ["type": "object"],
                ],
            ],
            "timestamp": ["type": "string"],
        ],
    ]

    static let infoExample: JSONValue = [
        "success": true,
        "data": [
            "videoId": "dQw4w9WgXcQ", "title": "Rick Astley - Never Gonna Give You Up", "lengthSeconds": "212", "viewCount": "1000000",
            "author": ["name": "Rick Astley", "channelUrl": "https://www.youtube.com/@RickAstleyYT"], "uploadDate": "2009-10-25",
            "thumbnails": [["url": "https://i.ytimg.com/vi/dQw4w9WgXcQ/default.jpg", "width": 120, "height": 90]], "isLiveContent": false,
            "formats": ["audioFormats": [["itag": 140, "mimeType": "audio/mp4"]], "videoFormats": [["itag": 18, "mimeType": "video/mp4"]]],
        ],
        "timestamp": "2026-12-04T10:00:00.000Z",
    ]
}
