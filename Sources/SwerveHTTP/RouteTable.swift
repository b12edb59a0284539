import HTTPTypes
import Hummingbird

/// A router and the list of the paths registered on it, so that a known path asked with the wrong
/// method can be answered 405 rather than 404.
final class RouteTable: @unchecked Sendable {
    // @unchecked: used only while the router is being built, on one task, before serving starts.
    let router: Router<BasicRequestContext>
    private(set) var patterns: [(method: HTTPRequest.Method, pattern: [Substring])] = []

    init(router: Router<BasicRequestContext>) {
        self.router = router
    }

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    func get(_ path: String, _ handler: @escaping Handler) {
        router.get(RouterPath(path), use: handler)
        patterns.append((.get, path.split(separator: "/")))
    }

    func post(_ path: String, _ handler: @escaping Handler) {
        router.post(RouterPath(path), use: handler)
        patterns.append((.post, path.split(separator: "/")))
    }
}
