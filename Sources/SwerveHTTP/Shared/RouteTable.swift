import HTTPTypes
import Hummingbird
import SwerveCore

/// A router and the list of the routes registered on it, each with the access category it belongs
/// to: a known path asked with the wrong method is answered 405 rather than 404, and a route of a
/// restricted category (`--http-restricted-api`) runs only for requests with its key
/// (``RestrictedAPIGuard``).
final class RouteTable: @unchecked Sendable {
    // @unchecked: used only while the router is being built, on one task, before serving starts.
    let router: Router<SwerveRequestContext>
    /// The restricted categories of the listener.
    let guardian: RestrictedAPIGuard

    /// One registered route.
    struct Route: Equatable {
        var method: HTTPRequest.Method
        /// The path as registered (`/v2/models/:model/infer`).
        var path: String
        /// The category a restriction of which applies to the route; nil for a route that is never
        /// restricted (Prometheus' `/metrics`, as in Triton).
        var category: RestrictedCategory?

        var pattern: [Substring] { path.split(separator: "/") }
    }

    /// Every route, in the order registered.
    private(set) var routes: [Route] = []

    /// A table over a new router whose errors are answered by ``ErrorMiddleware`` in `errorFormat`.
    /// The middleware is added first, so it covers every route added later; it reads the table's
    /// paths only when a request fails.
    /// - Parameter restrictions: the categories restricted on this listener (none by default).
    init(errorFormat: HTTPErrorFormat, restrictions: RestrictedFeatures = RestrictedFeatures(flag: .httpRestrictedAPI)) {
        router = Router(context: SwerveRequestContext.self)
        guardian = RestrictedAPIGuard(restrictions: restrictions)
        router.add(middleware: ErrorMiddleware(routes: self, format: errorFormat))
    }

    /// Whether some route has this path (with any method): a miss on it is 405, not 404.
    func knowsPath(_ path: String) -> Bool {
        let segments = path.split(separator: "/")
        return routes.contains { route in
            let pattern = route.pattern
            return pattern.count == segments.count && zip(pattern, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
        }
    }

    typealias Handler = @Sendable (Request, SwerveRequestContext) async throws -> Response

    func get(_ path: String, category: RestrictedCategory?, _ handler: @escaping Handler) {
        add(.get, path, category: category, handler)
    }

    func post(_ path: String, category: RestrictedCategory?, _ handler: @escaping Handler) {
        add(.post, path, category: category, handler)
    }

    func put(_ path: String, category: RestrictedCategory?, _ handler: @escaping Handler) {
        add(.put, path, category: category, handler)
    }

    func delete(_ path: String, category: RestrictedCategory?, _ handler: @escaping Handler) {
        add(.delete, path, category: category, handler)
    }

    /// Registers `handler` for `method` and `path`, behind the category's key check, where
    /// ``HandlerPlacement`` says it runs.
    private func add(_ method: HTTPRequest.Method, _ path: String, category: RestrictedCategory?, _ handler: @escaping Handler) {
        router.on(RouterPath(path), method: method, use: HandlerPlacement.placing(category, guardian.guarding(category, handler)))
        routes.append(Route(method: method, path: path, category: category))
    }
}
