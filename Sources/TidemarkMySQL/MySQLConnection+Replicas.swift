import Foundation
import TidemarkCore

// MARK: - Replication lag (docs/backfills.md#mysql-and-mariadb)

extension MySQLConnection {
    /// The largest `Seconds_Behind_Master` (`Seconds_Behind_Source` on MySQL 8.0.22 on) among
    /// the target's `replicas:`, each read with `SHOW REPLICA STATUS` (MariaDB 10.5.1, MySQL
    /// 8.0.22 on), else `SHOW SLAVE STATUS`. A primary cannot list its replicas' lag, so they
    /// are named in the inventory; none named: no wait. A replica that cannot be reached, is not
    /// replicating, or has its SQL thread stopped (a NULL lag) makes the lag unreadable, with why.
    package func replicationLag() throws(BackendError) -> ReplicationLag {
        guard let replicas = target.replicas, !replicas.isEmpty else { return .noReplicas }
        var largest = Duration.zero
        for replica in replicas {
            switch lag(of: replica) {
            case .success(let seconds): largest = max(largest, .seconds(seconds))
            case .failure(let reason): return .unreadable(reason: reason.message)
            }
        }
        return .lag(largest)
    }

    private struct Unreadable: Error {
        var message: String
    }

    private func lag(of replica: TargetReplica) -> Result<Int64, Unreadable> {
        let shown = Redaction.redactConnectionString(replica.url)
        let url: MySQLURL
        do {
            url = try MySQLURL(parsing: replica.url)
        } catch {
            return .failure(Unreadable(message: "replica \(shown) is not a valid MySQL URL: \(error.description)"))
        }
        var password = url.password
        if let variable = replica.passwordEnv, let value = environment[variable] { password = value }
        let options = MySQLConnectOptions(
            url: url, password: password, optionFile: target.optionFile, optionGroup: target.optionGroup,
            connectTimeoutSeconds: UInt32(clamping: max(1, Int((timeouts.connectTimeout.milliseconds + 999) / 1000))))
        let handle: MySQLHandle
        if let open = replicaHandles[replica.url] {
            handle = open
        } else {
            do {
                handle = try MySQLHandle.connect(options)
            } catch {
                return .failure(
                    Unreadable(
                        message:
                            "cannot reach replica \(shown): \(Self.redact(error.fullMessage, password: password))"))
            }
            replicaHandles[replica.url] = handle
        }
        let rows: [[String: String?]]
        do {
            do {
                rows = try handle.namedRows("SHOW REPLICA STATUS")
            } catch  where error.code == 1064 {
                rows = try handle.namedRows("SHOW SLAVE STATUS") // older servers: no REPLICA keyword
            }
        } catch {
            replicaHandles[replica.url] = nil
            return .failure(
                Unreadable(
                    message:
                        "cannot read replica \(shown)'s status: \(Self.redact(error.fullMessage, password: password))"))
        }
        guard !rows.isEmpty else {
            return .failure(
                Unreadable(
                    message:
                        "replica \(shown) is not replicating (SHOW REPLICA STATUS is empty); correct replicas: or set up its replication"
                ))
        }
        var largest: Int64 = 0
        for row in rows {
            let value = (row["Seconds_Behind_Master"] ?? nil) ?? (row["Seconds_Behind_Source"] ?? nil)
            guard let text = value, let seconds = Int64(text) else {
                return .failure(
                    Unreadable(
                        message:
                            "replica \(shown) reports no lag (Seconds_Behind_Master is NULL: its replication threads are stopped)"
                    ))
            }
            largest = max(largest, seconds)
        }
        return .success(largest)
    }
}
