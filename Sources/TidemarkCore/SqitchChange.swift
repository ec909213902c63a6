import Crypto
import Foundation

/// Who a Sqitch-layout migration is in Sqitch's own terms: the change as `sqitch.plan` declares
/// it and the change id Sqitch records in its registry (`sqitch.changes.change_id`), so Sqitch's
/// history can be mapped onto the plan's versions. Thread-safe value.
package struct SqitchChange: Sendable, Hashable, Codable {
    /// The `%project` pragma of the plan that declares the change.
    package var project: String
    /// The change name (`user_posts`); a reworked change has the same name as the one it reworks.
    package var name: String
    /// Sqitch's change id: SHA-1 over the change's `info` text, as Sqitch computes it.
    package var id: String
    /// Tags declared right after the change (`@v1.0`), without the `@`.
    package var tags: [String]
    /// For a change reworked later in the plan: the tag whose name its old scripts carry
    /// (`deploy/user_posts@v1.0.sql`); nil for a change that is not reworked.
    package var scriptTag: String?
    /// The plan line declaring the change (1-based).
    package var line: Int

    package init(project: String, name: String, id: String, tags: [String], scriptTag: String?, line: Int) {
        self.project = project
        self.name = name
        self.id = id
        self.tags = tags
        self.scriptTag = scriptTag
        self.line = line
    }

    /// The change named as Sqitch shows it: `user_posts@v1.0` for a reworked change, else the name.
    package var qualifiedName: String {
        scriptTag.map { "\(name)@\($0)" } ?? name
    }

    /// What Sqitch records as a change's `script_hash`: the SHA-1 hex of its deploy script's
    /// bytes, as read from disk (App::Sqitch::Plan::Change `script_hash`).
    package static func scriptHash(of bytes: Data) -> String {
        Insecure.SHA1.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Sqitch's change id for the change whose `info` text (App::Sqitch::Plan::Change `info`) is
    /// given: SHA-1 of `change <byte length>\0<info>`, in the style of a git object id.
    package static func id(info: String) -> String {
        let content = Data(info.utf8)
        var object = Data("change \(content.count)\0".utf8)
        object.append(content)
        return Insecure.SHA1.hash(data: object).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
