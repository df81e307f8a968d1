/// Which file of a build context a deploy builds with: `Dockerfile` unless the deploy names
/// another (`mini deploy --dockerfile deploy/Dockerfile.prod`), as Dokku's and Kamal's
/// Dockerfile path settings do.
public enum DockerfilePath {
    /// The file `docker build` looks for.
    public static let standard = "Dockerfile"

    /// What is wrong with `path` as a Dockerfile path, or nil when it is one: a relative path
    /// inside the context, `/`-separated, without `.` or `..` parts.
    public static func problem(with path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, path.utf8.count <= 1024, !path.utf8.contains(0) else {
            return "a Dockerfile path has 1 to 1024 bytes, without NUL"
        }
        guard !path.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            return "the Dockerfile path '\(path)' must be relative to the folder, without '.', '..' or empty parts"
        }
        return nil
    }
}
