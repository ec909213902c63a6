import ArgumentParser
import TidemarkCore
import TidemarkFleet

/// The documented exit codes (docs/reference.md#exit-codes).
enum ExitStatus: Int32 {
    /// Every selected target reached its desired state, or there was nothing to do.
    case success = 0
    /// At least one target failed.
    case failed = 1
    /// Invalid input or usage.
    case invalidInput = 2
    /// Nothing failed, but some targets are blocked.
    case blocked = 3
    /// Another run holds a target's lock.
    case locked = 4
    /// Nothing failed, but some targets were deferred.
    case deferred = 5
    /// Interrupted by SIGINT/SIGTERM.
    case interrupted = 130

    var exitCode: ExitCode { ExitCode(rawValue) }

    /// The exit code of a run that ended this way.
    init(_ status: RunStatus) {
        switch status {
        case .succeeded: self = .success
        case .failed: self = .failed
        case .blocked: self = .blocked
        case .locked: self = .locked
        case .deferred: self = .deferred
        case .interrupted: self = .interrupted
        }
    }

    /// The exit code of a use case's error.
    init(_ category: FleetError.Category) {
        switch category {
        case .invalidInput: self = .invalidInput
        case .locked: self = .locked
        case .failed: self = .failed
        }
    }
}

/// An error that ends a command with a message on standard error and a documented exit code.
struct CommandFailure: Error {
    var status: ExitStatus
    var message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }
}
