import Dispatch
import Foundation
import TidemarkExecutor

/// SIGINT and SIGTERM during `apply`: the first starts no new target or step and lets running
/// transactions commit or roll back; the second cancels running statements. Either way the
/// report is written and the run exits 130. `onSignal` gets the sentence to show. Not
/// thread-safe to release; handlers run on their own queue.
package final class SignalTrap {
    private let sources: [any DispatchSourceSignal]

    package init(control: RunControl, onSignal: @escaping @Sendable (String) -> Void) {
        let queue = DispatchQueue(label: "tidemark.signals")
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            // Ignore the default action (exit at once) so the dispatch source sees the signal.
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler {
                if control.isStopRequested {
                    onSignal(
                        "interrupted again: cancelling running statements (\(control.runningCount) running); the report is still written."
                    )
                    control.cancelRunning()
                } else {
                    onSignal(
                        "interrupted: no new target or step starts; running steps commit or roll back (interrupt again to cancel them)."
                    )
                    control.requestStop()
                }
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    /// Restores the default actions.
    package func release() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
