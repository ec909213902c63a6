import Foundation
import TidemarkCore
import TidemarkNotify
import TidemarkPostgres

extension ControlStore {
    /// The incidents the on-call sinks have open for `inventory`'s shared runs, by sink and key
    /// (docs/on-call.md#incidents-open-and-resolve): whichever runner delivers a run's events
    /// starts from them, so the run that fixes a target resolves the incident another runner opened.
    package func openIncidents(inventory: String) throws(ControlError) -> [String: [String: OpenIncident]] {
        try with { session throws(BackendError) in
            var open: [String: [String: OpenIncident]] = [:]
            for row in try session.query(
                "SELECT sink, key, incident::text FROM tidemark_control.incidents WHERE inventory = $1", [inventory])
            {
                guard let sink = row[0], let key = row[1],
                    let incident = ControlStore.decode(OpenIncident.self, row[2])
                else { continue }
                open[sink, default: [:]][key] = incident
            }
            return open
        }
    }

    /// Stores what changed between `before` (as read when the runner's notifier started) and
    /// `after` (as it finished): incidents it opened are inserted, those it resolved deleted.
    /// Keys it did not touch are left as they are, so runners that deliver one after another
    /// (or the same inventory's runs side by side) do not undo each other's.
    package func updateIncidents(
        inventory: String, before: [String: [String: OpenIncident]], after: [String: [String: OpenIncident]]
    ) throws(ControlError) {
        var opened: [(sink: String, key: String, incident: OpenIncident)] = []
        var resolved: [(sink: String, key: String)] = []
        for (sink, incidents) in after {
            for (key, incident) in incidents where before[sink]?[key] != incident {
                opened.append((sink, key, incident))
            }
        }
        for (sink, incidents) in before {
            for key in incidents.keys where after[sink]?[key] == nil { resolved.append((sink, key)) }
        }
        guard !opened.isEmpty || !resolved.isEmpty else { return }
        try with { session throws(BackendError) in
            try session.transaction { session throws(BackendError) in
                if !resolved.isEmpty {
                    try session.query(
                        """
                        DELETE FROM tidemark_control.incidents i USING unnest($2::text[], $3::text[]) AS u(s, k)
                        WHERE i.inventory = $1 AND i.sink = u.s AND i.key = u.k
                        """,
                        [
                            inventory, ControlStore.textArray(resolved.map(\.sink)),
                            ControlStore.textArray(resolved.map(\.key)),
                        ])
                }
                if !opened.isEmpty {
                    try session.query(
                        """
                        INSERT INTO tidemark_control.incidents (inventory, sink, key, incident)
                        SELECT $1, u.s, u.k, u.i::jsonb FROM unnest($2::text[], $3::text[], $4::text[]) AS u(s, k, i)
                        ON CONFLICT (inventory, sink, key) DO UPDATE SET incident = excluded.incident, updated_at = now()
                        """,
                        [
                            inventory, ControlStore.textArray(opened.map(\.sink)),
                            ControlStore.textArray(opened.map(\.key)),
                            ControlStore.textArray(opened.map { ControlStore.json($0.incident) }),
                        ])
                }
            }
        }
    }
}
