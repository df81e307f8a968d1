/// A Docker Engine API version such as `1.41`.
struct APIVersion: Comparable, Sendable, CustomStringConvertible {
    /// The newest version this client speaks (engine 20.10).
    static let supported = APIVersion(major: 1, minor: 41)

    let major: Int
    let minor: Int

    init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// Parses `"1.41"`; nil for anything else.
    init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else {
            return nil
        }
        self.init(major: major, minor: minor)
    }

    var description: String { "\(major).\(minor)" }

    static func < (lhs: APIVersion, rhs: APIVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}

/// Negotiates the API version once per client and shares the answer between concurrent callers.
///
/// A failed negotiation is forgotten, so a client created before the daemon started works as
/// soon as the daemon answers.
actor APIVersionNegotiator {
    private var negotiation: Task<APIVersion, any Error>?

    /// The negotiated version: the lower of ``APIVersion/supported`` and what `engineVersion`
    /// answers on first use.
    func version(askingEngine engineVersion: @escaping @Sendable () async throws -> APIVersion)
        async throws -> APIVersion
    {
        if let negotiation {
            return try await negotiation.value
        }
        let negotiation = Task { try await min(engineVersion(), .supported) }
        self.negotiation = negotiation
        do {
            return try await negotiation.value
        } catch {
            self.negotiation = nil
            throw error
        }
    }
}
