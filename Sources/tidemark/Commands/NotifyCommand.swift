import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkFleet
import TidemarkNotify

extension Tidemark {
    /// `tidemark notify`: commands about the inventory's notification sinks.
    struct NotifyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "notify",
            abstract: "Check the inventory's notification sinks.",
            subcommands: [NotifyTestCommand.self]
        )
    }

    /// `tidemark notify test -i INVENTORY`: one `notify.test` event to every sink, each result reported.
    struct NotifyTestCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "test",
            abstract: "Send one test event to every notification sink and report each result.",
            discussion: """
                Every sink in the inventory's notify list gets one `notify.test` event, whatever its \
                on: and environments: lists say (PagerDuty and Opsgenie: an incident at severity info, \
                triggered then resolved), with the usual retries within the flush timeout \
                (TIDEMARK_NOTIFY_FLUSH_TIMEOUT, default 10s). Exit 0 when every sink got it, 1 otherwise. \
                URLs and secrets are read from the environment and never printed.
                """)

        @OptionGroup var inventoryOption: InventoryOption
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let inventory = try inventoryOption.load()
            guard !inventory.notify.isEmpty else {
                throw CommandFailure(
                    .invalidInput,
                    "\(inventory.file): no notify sinks to test; add a notify: list, e.g. notify: [ { name: oncall, type: slack, url_env: ONCALL_WEBHOOK_URL } ]."
                )
            }
            let notifier: Notifier
            do {
                notifier = try RunNotifications.makeNotifier(
                    for: inventory, environment: ProcessInfo.processInfo.environment, outbox: StateDirectory().outbox,
                    logger: logging.makeLogger())
            } catch {
                throw CommandFailure(.invalidInput, error.description)
            }
            let results = await notifier.sendTest(runID: "test-" + RunIdentity.makeRunID())

            let out = Terminal.standardOutput
            var table = TextTable("sink", "type", "result", "status", "attempts", "time", "detail")
            for result in results {
                table.add([
                    result.sink, result.kind,
                    result.delivered ? "delivered" : "failed",
                    result.status.map(String.init) ?? "-", String(result.attempts), Self.seconds(result.elapsed),
                    Self.detail(result),
                ])
            }
            out.write("notify test: inventory \(inventory.name), \(results.count) sink\(results.count == 1 ? "" : "s")")
            out.write(table.render())
            let failed = results.filter { !$0.delivered }.count
            if failed == 0 {
                out.write("every sink got the test event.")
                return
            }
            out.write("\(failed) of \(results.count) sink\(results.count == 1 ? "" : "s") did not get the test event.")
            throw ExitStatus.failed.exitCode
        }

        /// Sink kinds whose answer is worth printing: their services say what they did with the
        /// event (PagerDuty's `Event processed`, Opsgenie's `Request will be processed`, an SMTP
        /// server's last reply code).
        static let answeringKinds: Set<String> = ["pagerduty", "opsgenie", "teams", "email"]

        /// Why a sink failed; for PagerDuty, Opsgenie and Teams also what the service answered.
        static func detail(_ result: SinkTestResult) -> String {
            let answer = answeringKinds.contains(result.kind) ? result.answer : nil
            if result.delivered { return answer.map { "answered \($0)" } ?? "" }
            return result.detail + (answer.map { " (answered \($0))" } ?? "")
        }

        /// `12 ms` below a second, `1.23 s` above.
        static func seconds(_ duration: Duration) -> String {
            let (seconds, attoseconds) = duration.components
            let total = Double(seconds) + Double(attoseconds) / 1e18
            return total < 1 ? "\(Int((total * 1000).rounded())) ms" : String(format: "%.2f s", total)
        }
    }
}
