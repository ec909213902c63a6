/// Where `tidemark rehearse` builds throwaway databases: a temporary database (or schema) on a
/// PostgreSQL server, a temporary SQLite file, an in-memory database. Implementations are
/// thread-safe.
package protocol ScratchDatabaseProvider: Sendable {
    /// The backend that connects to the targets this provider makes.
    var backend: any Backend { get }

    /// Where scratch databases live, for reports (never with a password).
    var location: String { get }

    /// A new, empty scratch target. Blocks.
    func create() throws(BackendError) -> Target

    /// Removes a scratch target made by `create`; best effort, never throws (a failure to clean
    /// up must not hide the rehearsal's result). Blocks.
    func drop(_ target: Target)
}
