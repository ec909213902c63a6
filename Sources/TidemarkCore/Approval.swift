import Foundation

/// One person's decision on a wave that waits for approval (`approval: required`,
/// docs/on-call.md#approvals): through the control database (`tidemark approve`/`reject`), an
/// answer on a terminal, or `apply --approve ENV`. In the run report as `approvals`. Thread-safe value.
package struct ApprovalDecision: Sendable, Hashable, Codable {
    package enum Verdict: String, Sendable, Hashable, Codable { case approved, rejected }

    /// How the decision was made.
    package enum Channel: String, Sendable, Hashable, Codable {
        /// `tidemark approve` or `tidemark reject` through the control database.
        case command
        /// The question at the wave boundary, answered on a terminal.
        case terminal
        /// `apply --approve ENV`, given before the run.
        case flag
    }

    package var runID: String
    package var environment: String
    package var verdict: Verdict
    package var channel: Channel
    /// The operating-system user who decided (getpwuid, not `$USER`).
    package var osUser: String
    /// `--as NAME`, when the person approves on someone's behalf or under another name.
    package var asName: String?
    /// The control database's `session_user` for the connection that recorded it ("" without one).
    package var sessionUser: String
    package var note: String?
    package var decidedAt: Date?

    package init(
        runID: String, environment: String, verdict: Verdict, osUser: String, asName: String? = nil,
        sessionUser: String = "", note: String? = nil, decidedAt: Date? = nil, channel: Channel = .command
    ) {
        self.runID = runID
        self.environment = environment
        self.verdict = verdict
        self.channel = channel
        self.osUser = osUser
        self.asName = asName
        self.sessionUser = sessionUser
        self.note = note
        self.decidedAt = decidedAt
    }

    /// `alice (as Release Manager; database user tidemark)`.
    package var who: String {
        var text = osUser
        var extras: [String] = []
        if let asName { extras.append("as \(asName)") }
        if !sessionUser.isEmpty { extras.append("database user \(sessionUser)") }
        if !extras.isEmpty { text += " (\(extras.joined(separator: "; ")))" }
        return text
    }

    /// `prod approved by alice (as Release Manager) at 2026-12-07T20:01:02Z on a terminal: ticket CHG-7`.
    package var sentence: String {
        let how: String
        switch channel {
        case .command: how = "with tidemark \(verdict == .approved ? "approve" : "reject")"
        case .terminal: how = "on a terminal"
        case .flag: how = "with --approve \(environment)"
        }
        let when = decidedAt.map { " at \(ISO8601DateFormatter().string(from: $0))" } ?? ""
        return "\(environment) \(verdict.rawValue) by \(who)\(when) \(how)" + (note.map { ": \($0)" } ?? "")
    }

    private enum CodingKeys: String, CodingKey {
        case environment, decision, channel, osUser
        case asName = "as"
        case sessionUser, note, decidedAt
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        runID = ""
        environment = try container.decode(String.self, forKey: .environment)
        verdict = try container.decode(Verdict.self, forKey: .decision)
        channel = try container.decodeIfPresent(Channel.self, forKey: .channel) ?? .command
        osUser = try container.decode(String.self, forKey: .osUser)
        asName = try container.decodeIfPresent(String.self, forKey: .asName)
        sessionUser = try container.decodeIfPresent(String.self, forKey: .sessionUser) ?? ""
        note = try container.decodeIfPresent(String.self, forKey: .note)
        decidedAt = try container.decodeIfPresent(Date.self, forKey: .decidedAt)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(environment, forKey: .environment)
        try container.encode(verdict, forKey: .decision)
        try container.encode(channel, forKey: .channel)
        try container.encode(osUser, forKey: .osUser)
        try container.encodeIfPresent(asName, forKey: .asName)
        if !sessionUser.isEmpty { try container.encode(sessionUser, forKey: .sessionUser) }
        try container.encodeIfPresent(note, forKey: .note)
        try container.encodeIfPresent(decidedAt, forKey: .decidedAt)
    }
}
