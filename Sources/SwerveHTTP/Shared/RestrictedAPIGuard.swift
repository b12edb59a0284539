import HTTPTypes
import Hummingbird
import SwerveCore

/// The HTTP side of `--http-restricted-api`: wraps each route of a restricted category so that it
/// runs only when the request carries the category's header with the key.
///
/// It acts as a middleware bound to one route rather than one that matches paths itself, so a
/// route's category is the one it was registered with and cannot drift from the router's own
/// matching. The check comes before the handler reads the body; a refusal is thrown as
/// ``SwerveError`` `permissionDenied`, which ``ErrorMiddleware`` answers 403 in the listener's
/// error format, naming the header and never the key.
struct RestrictedAPIGuard: Sendable {
    /// The listener's restricted categories.
    let restrictions: RestrictedFeatures

    /// `handler`, preceded by the key check when `category` is restricted; as it is otherwise.
    func guarding(_ category: RestrictedCategory?, _ handler: @escaping RouteTable.Handler) -> RouteTable.Handler {
        guard let category, restrictions.restricts(category) else { return handler }
        let restrictions = self.restrictions
        return { request, context in
            try restrictions.check(category) { name in
                HTTPField.Name(name).map { request.headers[values: $0] } ?? []
            }
            return try await handler(request, context)
        }
    }
}
