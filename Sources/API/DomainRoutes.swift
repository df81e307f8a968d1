import Hummingbird
import MiniCore
import Store

/// Custom domains: `GET`, `POST /v1/apps/{app}/domains` and
/// `DELETE /v1/apps/{app}/domains/{host}`. The proxy serves an app at each of its domains
/// besides `<app>.<domain>`, within ~10 ms of the change.
struct DomainRoutes {
    let configuration: APIConfiguration
    let apps: AppStore

    func register(on group: RouterGroup<MiniRequestContext>) {
        group.get("apps/:app/domains", use: list)
        group.post("apps/:app/domains", use: add)
        group.delete("apps/:app/domains/:host", use: remove)
    }

    @Sendable func list(request: Request, context: MiniRequestContext) async throws -> Response {
        let name = try await existingAppName(context)
        return try await jsonResponse(DomainList(domains: try apps.domains(of: name)))
    }

    @Sendable func add(request: Request, context: MiniRequestContext) async throws -> Response {
        let name = try await existingAppName(context)
        // A host is claimed by the first app that adds it, and served with the operator's
        // certificates: a token limited to some apps (CI's previews) must not take one.
        try context.requireEveryApp("custom domains are added with a token for every app")
        let body = try await request.decodeJSON(DomainRequest.self, context: context)
        let host = try Self.domain(body.host)
        var appsDomain = configuration.domain.lowercased()
        while appsDomain.hasSuffix(".") { appsDomain.removeLast() }
        guard host.rawValue != appsDomain, !host.rawValue.hasSuffix("." + appsDomain) else {
            throw APIError.badRequest(
                "\(host) is under \(appsDomain), where every app has its own host already; use a domain of your own"
            )
        }
        let status: HTTPResponse.Status
        switch try await apps.addDomain(host, to: name) {
        case .added: status = .created
        case .alreadyThere: status = .ok
        case .takenByAnotherApp(let owner):
            throw APIError.conflict(
                "\(host) already belongs to \(owner); remove it there first: mini domains remove \(owner) \(host)")
        }
        return try await jsonResponse(DomainList(domains: try apps.domains(of: name)), status: status)
    }

    @Sendable func remove(request: Request, context: MiniRequestContext) async throws -> Response {
        let name = try await existingAppName(context)
        let host = try Self.domain(try context.parameters.require("host"))
        guard try await apps.removeDomain(host, from: name) else {
            throw APIError.notFound("\(name) has no domain \(host); list them with `mini domains \(name)`")
        }
        return Response(status: .noContent)
    }

    private func existingAppName(_ context: MiniRequestContext) async throws -> AppName {
        let name = try context.parameters.appName()
        _ = try await apps.existingApp(name)
        return name
    }

    private static func domain(_ text: String) throws -> DomainName {
        do {
            return try DomainName(text)
        } catch {
            throw APIError.badRequest(error.message)
        }
    }
}
