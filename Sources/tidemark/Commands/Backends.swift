import TidemarkExecutor
import TidemarkMySQL
import TidemarkPostgres
import TidemarkSQLite

enum Backends {
    /// The backends this executable ships: PostgreSQL (libpq), SQLite (the embedded default) and
    /// MySQL/MariaDB (MariaDB Connector/C).
    static let standard = BackendRegistry([PostgresBackend(), SQLiteBackend(), MySQLBackend()])
}
