import HTTPTypes
import Hummingbird

/// A router and the list of the paths registered on it, so that a known path asked with the wrong
/// method can be answered 405 rather than 404.
final class RouteTable: @unchecked Sendable {
    // @unchecked: used only while the router is being built, on one task, before serving starts.
    let router: Router<SwerveRequestContext>
    private(set) var patterns: [(method: HTTPRequest.Method, pattern: [Substring])] = []

    /// A table over a new router whose errors are answered by ``ErrorMiddleware`` in `errorFormat`.
    /// The middleware is added first, so it covers every route added later; it reads the table's
    /// paths only when a request fails.
    init(errorFormat: HTTPErrorFormat) {
        router = Router(context: SwerveRequestContext.self)
        router.add(middleware: ErrorMiddleware(routes: self, format: errorFormat))
    }

    /// Whether some route has this path (with any method): a miss on it is 405, not 404.
    func knowsPath(_ path: String) -> Bool {
        let segments = path.split(separator: "/")
        return patterns.contains { route in
            route.pattern.count == segments.count && zip(route.pattern, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }
    }

    typealias Handler = @Sendable (Request, SwerveRequestContext) async throws -> Response

    func get(_ path: String, _ handler: @escaping Handler) {
        router.get(RouterPath(path), use: handler)
        patterns.append((.get, path.split(separator: "/")))
    }

    func post(_ path: String, _ handler: @escaping Handler) {
        router.post(RouterPath(path), use: handler)
        patterns.append((.post, path.split(separator: "/")))
    }

    func put(_ path: String, _ handler: @escaping Handler) {
        router.put(RouterPath(path), use: handler)
        patterns.append((.put, path.split(separator: "/")))
    }

    func delete(_ path: String, _ handler: @escaping Handler) {
        router.delete(RouterPath(path), use: handler)
        patterns.append((.delete, path.split(separator: "/")))
    }
}
