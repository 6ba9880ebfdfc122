import RouteHost
import YouTubePlugin

/// The route-module plugins compiled into this executable. routes.json decides which of them
/// are mounted; to add one, add its type here (see "Adding a route module" in the README).
let compiledPlugins: [any RouteModule.Type] = [
    YouTubeModule.self
]
