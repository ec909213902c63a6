import TidemarkCore

/// The state a rollout brings targets to. Thread-safe value.
package enum DesiredVersion: Sendable, Hashable {
    /// The plan's latest version that is not quarantined.
    case latest
    /// No version: every version goes (`--to 0`, as `golang-migrate down` or `sqitch revert`).
    case empty
    /// A version of the plan.
    case version(Version)

    /// Reads the user's `--to` text against `plan`: `0` means no version (unless the plan has a
    /// version 0, which is then what was asked for); anything else must be a version of the plan.
    package init(parsing text: String, in plan: Plan) throws(DesiredVersionError) {
        if let version = Version(text, style: plan.versionStyle), plan.migration(version) != nil {
            self = .version(version)
        } else if text == "0" {
            self = .empty
        } else {
            throw .unknownVersion(text, plan: plan.name, versions: plan.migrations.map(\.version.text))
        }
    }

    /// The version this resolves to in `plan` (nil: no version).
    package func resolved(in plan: Plan) -> Version? {
        switch self {
        case .latest: return plan.latestUsableVersion
        case .empty: return nil
        case .version(let version): return version
        }
    }
}

/// Why a desired version cannot be read. Thread-safe value.
package enum DesiredVersionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The plan has no such version; `versions` are the plan's, in order.
    case unknownVersion(String, plan: String, versions: [String])

    package var description: String {
        switch self {
        case .unknownVersion(let text, let plan, let versions):
            let known =
                "\(versions.prefix(3).joined(separator: ", "))\(versions.count > 3 ? " … \(versions.last ?? "")" : "")"
            return "plan \(plan) has no version \(text); versions: \(known) (or 0 for no version)"
        }
    }
}
