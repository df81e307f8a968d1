import Foundation
import Hummingbird
import MiniCore
import Store

/// The app routes.
struct AppRoutes {
    let configuration: APIConfiguration
    let apps: AppStore

    func register(on group: RouterGroup<MiniRequestContext>) {
        group.get("apps", use: list)
        group.get("apps/:app", use: show)
    }

    @Sendable func list(request: Request, context: MiniRequestContext) async throws -> Response {
        try jsonResponse(AppList(apps: try apps.apps().map(info)))
    }

    @Sendable func show(request: Request, context: MiniRequestContext) async throws -> Response {
        let name = try context.parameters.appName()
        guard let app = try apps.app(name) else {
            throw APIError.notFound("no app '\(name)'; deploy it with `mini deploy --app \(name)`")
        }
        return try jsonResponse(try info(app))
    }

    private func info(_ app: AppRecord) throws -> AppInfo {
        AppInfo(
            name: try AppName(app.name), url: configuration.url(of: app.name), release: app.currentRelease,
            createdAt: Date(timeIntervalSince1970: app.createdAt)
        )
    }
}
