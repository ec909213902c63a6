import Foundation
import TidemarkCore

/// The plain-text email an `email` sink sends once per run: what needs a person first (failed
/// and blocked targets, halted waves), then the counts. Pure; thread-safe value.
struct EmailMessage: Equatable {
    var from: String
    var to: [String]
    var subject: String
    var text: String
    var date: Date
    /// Becomes the `Message-ID`, so a resent message is recognisably the same one.
    var id: String

    /// The message in RFC 5322 form, CRLF line ends; the subject encoded (RFC 2047) when it is
    /// not plain ASCII, the body UTF-8.
    func data(event: String) -> Data {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let headers = [
            "From: \(from)", "To: \(to.joined(separator: ", "))", "Subject: \(Self.encodedHeader(subject))",
            "Date: \(formatter.string(from: date))",
            "Message-ID: <\(id)@tidemark>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "X-Tidemark-Event: \(event)",
        ]
        let body = text.split(separator: "\n", omittingEmptySubsequences: false).flatMap { Self.wrapped(String($0)) }
            .joined(separator: "\r\n")
        return Data((headers.joined(separator: "\r\n") + "\r\n\r\n" + body + "\r\n").utf8)
    }

    /// SMTP allows at most 998 bytes a line: a longer line (a long error) is cut into pieces of
    /// at most 240 Unicode scalars (960 bytes of UTF-8), continued with two spaces.
    static func wrapped(_ line: String) -> [String] {
        guard line.utf8.count > 990 else { return [line] }
        let scalars = Array(line.unicodeScalars)
        return stride(from: 0, to: scalars.count, by: 240).map { start in
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: scalars[start..<min(start + 240, scalars.count)])
            return (start == 0 ? "" : "  ") + String(piece)
        }
    }

    /// `=?UTF-8?B?…?=` when `text` is not printable ASCII; line breaks never survive into a header.
    static func encodedHeader(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if flat.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) { return flat }
        return "=?UTF-8?B?\(Data(flat.utf8).base64EncodedString())?="
    }
}

/// Turns a run's events into its one email. Thread-safe value.
struct EmailFormatter: Sendable {
    var inventoryFile: String
    var sinkName: String
    var from: String
    var to: [String]

    /// The summary of a run: nil when every target was unchanged (a cron job that finds
    /// nothing to do sends no mail). `problems` are the run's failed and blocked targets and
    /// halted waves, in the order they happened.
    func summary(_ finished: Event, problems: [Event], id: String) -> EmailMessage? {
        let counts = finished.counts ?? [:]
        let total = counts.values.reduce(0, +)
        guard total > 0, counts.keys.contains(where: { $0 != "unchanged" }) else { return nil }
        let order = SlackFormatter.outcomeOrder
        let plural = total == 1 ? "" : "s"
        let subject: String
        if let failed = counts["failed"], failed > 0 {
            subject = "[tidemark] \(finished.inventory): \(failed) of \(total) target\(plural) failed"
        } else if let locked = counts["locked"], locked > 0 {
            subject = "[tidemark] \(finished.inventory): \(locked) of \(total) target\(plural) locked by another run"
        } else if let blocked = counts["blocked"], blocked > 0 {
            subject = "[tidemark] \(finished.inventory): \(blocked) of \(total) target\(plural) blocked"
        } else if let skipped = counts["skipped"], skipped > 0 {
            subject = "[tidemark] \(finished.inventory): \(skipped) of \(total) target\(plural) skipped"
        } else {
            subject =
                "[tidemark] \(finished.inventory): \(total) target\(plural)\(finished.toVersion.map { " at version \($0)" } ?? "")"
        }
        var lines: [String] = []
        var intro = "Tidemark run \(finished.runID) of inventory \(finished.inventory)"
        if let to = finished.toVersion { intro += " to version \(to)" }
        intro += " finished"
        if let started = finished.startedAt, let end = finished.finishedAt {
            intro += " in \(DurationText.seconds(end.timeIntervalSince(started)))"
        }
        intro += ": \(SlackFormatter.countsText(counts, order: order)) (\(total) target\(plural))."
        lines.append(intro)
        let failed = problems.filter { $0.kind == .targetFailed }
        let blocked = problems.filter { $0.kind == .targetBlocked }
        let halted = problems.filter { $0.kind == .waveHalted }
        if !failed.isEmpty {
            lines += ["", "FAILED (\(failed.count))"]
            for event in failed {
                lines.append(
                    "  \(event.target ?? "?") (\(event.environment ?? "?")), at version \(event.toVersion ?? "nothing"):"
                )
                for line in (event.error ?? "no error text").split(separator: "\n").prefix(20) {
                    lines.append("    \(line)")
                }
                lines.append("    inspect: tidemark history -i \(inventoryFile) --target \(event.target ?? "?")")
            }
        }
        if !blocked.isEmpty {
            lines += ["", "BLOCKED (\(blocked.count))"]
            for event in blocked {
                lines.append(
                    "  \(event.target ?? "?") (\(event.environment ?? "?")), at version \(event.fromVersion ?? "nothing"):"
                )
                for line in (event.reason ?? event.error ?? "").split(separator: "\n").prefix(20) {
                    lines.append("    \(line)")
                }
                lines.append("    inspect: tidemark plan -i \(inventoryFile) --target \(event.target ?? "?")")
            }
        }
        if !halted.isEmpty {
            lines += ["", "HALTED WAVES (\(halted.count))"]
            for event in halted { lines.append("  \(event.environment ?? "?"): \(event.reason ?? "halted")") }
        }
        let environments = (finished.environmentCounts ?? [:]).sorted { $0.key < $1.key }
        if !environments.isEmpty {
            lines += ["", "BY ENVIRONMENT"]
            let width = environments.map(\.key.count).max() ?? 0
            for (name, perEnvironment) in environments {
                lines.append(
                    "  \(name.padding(toLength: width, withPad: " ", startingAt: 0))  \(SlackFormatter.countsText(perEnvironment, order: order))"
                )
            }
        }
        lines += [
            "", "-- ", "Sent by Tidemark (notify sink \(sinkName)); every target: tidemark status -i \(inventoryFile)",
        ]
        return EmailMessage(
            from: from, to: to, subject: subject, text: lines.joined(separator: "\n"),
            date: finished.finishedAt ?? finished.at, id: id)
    }

    /// What `tidemark notify test` sends.
    func test(_ event: Event, id: String) -> EmailMessage {
        EmailMessage(
            from: from, to: to, subject: "[tidemark] test notification for inventory \(event.inventory)",
            text:
                "Test notification from Tidemark for inventory \(event.inventory): notify sink \(sinkName) reaches you.\nSent by tidemark notify test; nothing was migrated.",
            date: event.at, id: id)
    }
}
