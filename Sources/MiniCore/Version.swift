/// The version of mini, shared by `mini` and `minid`.
public enum MiniVersion {
    public static let current = "0.1.0"
}
