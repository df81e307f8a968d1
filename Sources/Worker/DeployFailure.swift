import Docker
import Queue

/// Why a deploy attempt ended without a new release, and whether trying again could help.
struct DeployFailure: Error, CustomStringConvertible {
    let failure: JobFailure

    /// The app's own fault: its build failed, or its release never got healthy.
    static func permanent(_ reason: String, _ error: String) -> DeployFailure {
        DeployFailure(failure: .permanent(reason: reason, error: error))
    }

    /// The platform's fault: worth a retry with backoff.
    static func transient(_ reason: String, _ error: String) -> DeployFailure {
        DeployFailure(failure: .transient(reason: reason, error: error))
    }

    var description: String {
        switch failure {
        case .permanent(let reason, let error), .transient(let reason, let error): "\(reason): \(error)"
        }
    }
}
