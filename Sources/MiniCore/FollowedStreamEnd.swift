/// The last line of a followed log (`mini logs -f`, `mini logs --build -f`) that the server
/// ended before the log's end, so that the CLI can exit with a status that says so.
public enum FollowedStreamEnd: String, Sendable, CaseIterable {
    case serverStopping = "-----> minid is stopping: the stream ends."
    case tokenRevoked = "-----> The token of this request was revoked: the stream ends."
    case tokenExpired = "-----> The token of this request expired: the stream ends."
    case appDestroyed = "-----> The app was destroyed: the stream ends."

    /// The line as the server writes it.
    public var line: String { rawValue + "\n" }
}
