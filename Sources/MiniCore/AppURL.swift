/// The URL an app is served at: `<scheme>://<app>.<domain>[:port]`, the scheme's default port
/// (80, 443) left out.
public enum AppURL {
    public static func of(_ app: String, scheme: String, domain: String, port: Int) -> String {
        let defaultPort = scheme == "https" ? 443 : 80
        return "\(scheme)://\(app).\(domain)\(port == defaultPort ? "" : ":\(port)")"
    }
}
