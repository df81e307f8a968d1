import ArgumentParser

/// `--host` and `--token`, on every command that talks to the API.
struct APIOptions: ParsableArguments {
    @Option(help: "The mini server's URL (overrides MINI_HOST and the config file).")
    var host: String?

    @Option(help: "The API token (overrides MINI_TOKEN and the config file).")
    var token: String?

    /// A client for the resolved endpoint.
    func client() throws -> APIClient { APIClient(endpoint: try Endpoint.current(self)) }
}
