import TidemarkExecutor
import TidemarkPostgres
import TidemarkSQLite

enum Backends {
    /// The backends this executable ships: PostgreSQL (libpq) and SQLite (the embedded default).
    static let standard = BackendRegistry([PostgresBackend(), SQLiteBackend()])
}
