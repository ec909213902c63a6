import Foundation
import Logging
import Synchronization
import TidemarkCore
import TidemarkNotify

/// Renews one runner's leases and heartbeat on its own thread and its own control-database
/// connection, every third of the lease, so a busy worker never lets a lease lapse; notices
/// `tidemark stop`; and, while it holds the run's delivery lock (a session advisory lock: one
/// runner at a time, released when its connection ends, even by SIGKILL), hands the run's
/// undelivered events to the notifier. Thread-safe: its state sits behind a `Mutex`.
final class LeaseKeeper: Sendable {
    private struct State {
        var stopping = false
        var drain = false
        var lost: ControlError?
        var stopRequested = false
        var holdsDeliveryLock = false
        var finished: CheckedContinuation<Void, Never>?
        var done = false
    }

    private let store: ControlStore
    private let runID: String
    private let runner: String
    private let lease: Duration
    private let logger: Logger
    private let notifier: Notifier?
    private let onStop: @Sendable () -> Void
    private let state = Mutex(State())

    /// Opens the keeper's own connection (blocks: call it on a control thread).
    init(
        database: ControlDatabase, runID: String, runner: String, lease: Duration, appliedBy: String, logger: Logger,
        environment: [String: String], notifier: Notifier?, onStop: @escaping @Sendable () -> Void
    ) throws(ControlError) {
        self.store = try ControlStore(
            database: database, appliedBy: appliedBy, logger: logger, environment: environment)
        self.runID = runID
        self.runner = runner
        self.lease = lease
        self.logger = logger
        self.notifier = notifier
        self.onStop = onStop
    }

    /// The control database was lost while renewing.
    var lost: ControlError? { state.withLock { $0.lost } }
    /// `tidemark stop` asked the run to stop.
    var stopRequested: Bool { state.withLock { $0.stopRequested } }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "tidemark-lease"
        thread.start()
    }

    /// Stops renewing; with `drain`, first delivers the run's remaining events when this runner
    /// can take the delivery lock within a few seconds. Returns when the thread has ended.
    func stop(drain: Bool) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                state.stopping = true
                state.drain = drain
                if state.done { return true }
                state.finished = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// After the notifier flushed: marks this runner's events delivered, then ends the session,
    /// which releases the delivery lock (blocks: call it on a control thread).
    func finishDelivery() {
        if notifier != nil && lost == nil {
            do { try store.confirmDelivered(runID, runner: runner) } catch { logger.warning("\(error)") }
        }
        store.close()
    }

    private func loop() {
        let interval = max(Double(lease.milliseconds) / 3000, 0.05)
        let slice = 0.02
        var next = Date()
        while true {
            if state.withLock({ $0.stopping }) { break }
            if Date() >= next {
                tick()
                next = Date().addingTimeInterval(interval)
            }
            Thread.sleep(forTimeInterval: min(slice, max(0, next.timeIntervalSinceNow)))
        }
        if state.withLock({ $0.drain && $0.lost == nil }) { drainEvents() }
        let continuation = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.done = true
            defer { state.finished = nil }
            return state.finished
        }
        continuation?.resume()
    }

    private func tick() {
        guard state.withLock({ $0.lost == nil }) else { return }
        do {
            if try store.renew(runID, runner: runner, lease: lease) {
                let first = state.withLock { state -> Bool in
                    defer { state.stopRequested = true }
                    return !state.stopRequested
                }
                if first { onStop() }
            }
            if notifier != nil { try deliver() }
        } catch {
            logger.error("\(error)")
            state.withLock { $0.lost = error }
            onStop()
        }
    }

    /// Hands undelivered events to the notifier while this runner holds the delivery lock.
    /// Returns how many events of the run are still undelivered.
    @discardableResult
    private func deliver() throws(ControlError) -> Int {
        guard let notifier else { return 0 }
        if !state.withLock({ $0.holdsDeliveryLock }) {
            guard try store.tryDeliveryLock(runID) else { return try store.undeliveredCount(runID, runner: runner) }
            state.withLock { $0.holdsDeliveryLock = true }
        }
        while true {
            let events = try store.takeEvents(runID, runner: runner)
            for event in events { notifier.post(event) }
            if events.count < ControlStore.eventBatch { return 0 }
        }
    }

    /// At the end: delivers what is left, waiting up to five seconds for the delivery lock held by
    /// a runner that is itself finishing.
    private func drainEvents() {
        guard notifier != nil else { return }
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            do {
                if try deliver() == 0 { return }
            } catch {
                logger.warning("\(error)")
                return
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }
}

extension ControlStore {
    /// Events taken per delivery round.
    static let eventBatch = 500

    /// Takes the run's delivery lock for this session (released when the session ends).
    func tryDeliveryLock(_ runID: String) throws(ControlError) -> Bool {
        try with { session throws(BackendError) in
            try session.query("SELECT pg_try_advisory_lock(hashtextextended($1, 8))", [runID]).first?.first == "t"
        }
    }

    /// Events nobody has taken yet, or that a deliverer took and never confirmed, other than `runner`'s.
    func undeliveredCount(_ runID: String, runner: String) throws(ControlError) -> Int {
        try with { session throws(BackendError) in
            Int(
                try session.query(
                    "SELECT count(*) FROM tidemark_control.events WHERE run_id = $1 AND delivered_at IS NULL AND delivered_by IS DISTINCT FROM $2",
                    [runID, runner]
                ).first?.first??.description ?? "0") ?? 0
        }
    }

    /// Takes up to `eventBatch` undelivered events for `runner` and returns them in order, each with
    /// its delivery key (the run and the event's row). Events another deliverer took but never
    /// confirmed (it died) are taken again: sent again under the same delivery ids.
    func takeEvents(_ runID: String, runner: String) throws(ControlError) -> [Event] {
        let rows = try with { session throws(BackendError) in
            try session.query(
                """
                UPDATE tidemark_control.events SET delivered_by = $2
                WHERE id IN (
                    SELECT id FROM tidemark_control.events
                    WHERE run_id = $1 AND delivered_at IS NULL AND delivered_by IS DISTINCT FROM $2
                    ORDER BY id LIMIT \(ControlStore.eventBatch))
                RETURNING id, event::text
                """, [runID, runner])
        }
        let ordered = rows.sorted { left, right in
            let leftID: Int64 = left.first.flatMap { $0 }.flatMap { Int64($0) } ?? 0
            let rightID: Int64 = right.first.flatMap { $0 }.flatMap { Int64($0) } ?? 0
            return leftID < rightID
        }
        return ordered.compactMap { row in
            guard row.count > 1, var event = ControlStore.decode(Event.self, row[1]) else { return nil }
            event.deliveryKey = "\(runID)/\(row[0] ?? "")"
            return event
        }
    }

    /// After the notifier flushed (delivered, or kept in the outbox): `runner`'s events are delivered.
    func confirmDelivered(_ runID: String, runner: String) throws(ControlError) {
        try with { session throws(BackendError) in
            try session.query(
                "UPDATE tidemark_control.events SET delivered_at = now() WHERE run_id = $1 AND delivered_by = $2 AND delivered_at IS NULL",
                [runID, runner])
        }
    }
}
