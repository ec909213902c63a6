import Logging
import Testing
import TidemarkCore
import TidemarkTestSupport

/// One deliberate defect in an otherwise correct backend, and the check that must catch it.
enum BackendDefect: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case lockNeverExclusive
    case historyForgotten
    case statementTimeoutIgnored
    case cancelIgnored
    case failedRowsHidden
    case dirtyRowsLookTransactional
    case closeIgnored
    case schemaIgnored
    case skipRecordedAsForward
    case fingerprintIgnoresIndexes
    case readOnlyIgnored

    var testDescription: String { rawValue }

    /// The conformance check that must fail for a backend with this defect.
    var catchingCheck: String {
        switch self {
        case .lockNeverExclusive: return "lockIsExclusiveAcrossConnections"
        case .historyForgotten: return "forwardThenUndoFoldsIntoTargetState"
        case .statementTimeoutIgnored: return "statementTimeoutStopsSlowStatement"
        case .cancelIgnored: return "cancelStopsRunningStatement"
        case .failedRowsHidden: return "failedTransactionalStepLeavesNoTrace"
        case .dirtyRowsLookTransactional: return "failedNoTransactionStepLeavesTargetDirty"
        case .closeIgnored: return "closedConnectionRefusesWork"
        case .schemaIgnored: return "siblingSchemasAreIndependent"
        case .skipRecordedAsForward: return "skipAndBaselineRecordRowsWithoutRunningSQL"
        case .fingerprintIgnoresIndexes: return "fingerprintNamesEveryDifference"
        case .readOnlyIgnored: return "readOnlyConnectionToANewTargetCreatesNothing"
        }
    }
}

/// The memory fixture with one defect, to prove the suite notices it.
struct DefectiveFixture: BackendFixture {
    let defect: BackendDefect
    let base = MemoryFixture()

    var description: String { "memory with \(defect.rawValue)" }
    var backend: any Backend { DefectiveBackend(base: base.backend, defect: defect) }

    func makeTarget(name: String) throws -> Target { try base.makeTarget(name: name) }
    func makeSiblingTarget(of target: Target, name: String) throws -> Target? {
        try base.makeSiblingTarget(of: target, name: name)
    }
    func createTableSQL(_ table: String) -> String { base.createTableSQL(table) }
    var failingSQL: String { base.failingSQL }
    /// Short, so checks of the timeout and cancel defects fail in a second rather than five.
    func slowSQL(seconds: Int) -> String { "SELECT pg_sleep(1)" }
    func createForeignTable(_ table: String, columns: [String], rows: [[String?]], in target: Target) throws {
        try base.createForeignTable(table, columns: columns, rows: rows, in: target)
    }
    func tableExists(_ table: String, in target: Target) throws -> Bool {
        var target = target
        if defect == .schemaIgnored { target.schema = nil }
        return try base.tableExists(table, in: target)
    }
}

struct DefectiveBackend: Backend {
    let base: any Backend
    let defect: BackendDefect

    var kind: BackendKind { base.kind }

    func connect(to target: Target, access: ConnectionAccess, timeouts: Timeouts, logger: Logger) throws(BackendError)
        -> any BackendConnection
    {
        var target = target
        var timeouts = timeouts
        if defect == .schemaIgnored { target.schema = nil }
        if defect == .statementTimeoutIgnored { timeouts.statementTimeout = .seconds(60) }
        let access = defect == .readOnlyIgnored ? .readWrite : access
        return DefectiveConnection(
            base: try base.connect(to: target, access: access, timeouts: timeouts, logger: logger), defect: defect)
    }
}

struct SilentCanceller: StatementCanceller {
    func cancel() {}
}

/// A connection with one defect: forwards everything else.
final class DefectiveConnection: ForwardingConnection {
    let base: any BackendConnection
    let defect: BackendDefect

    init(base: any BackendConnection, defect: BackendDefect) {
        self.defect = defect
        self.base = base
    }

    var canceller: any StatementCanceller { defect == .cancelIgnored ? SilentCanceller() : base.canceller }

    func tryLock(timeout: Duration) throws(BackendError) -> Bool {
        let taken = try base.tryLock(timeout: timeout)
        return defect == .lockNeverExclusive ? true : taken
    }

    func fingerprint() throws(BackendError) -> SchemaFingerprint {
        let fingerprint = try base.fingerprint()
        guard defect == .fingerprintIgnoresIndexes else { return fingerprint }
        return SchemaFingerprint(lines: fingerprint.lines.filter { !$0.hasPrefix("index ") })
    }

    func readHistory() throws(BackendError) -> [HistoryEntry] {
        let rows = try base.readHistory()
        switch defect {
        case .historyForgotten: return []
        case .failedRowsHidden: return rows.filter(\.success)
        case .dirtyRowsLookTransactional:
            return rows.map { row in
                var row = row
                row.transactional = true
                return row
            }
        default: return rows
        }
    }

    @discardableResult
    func run(_ step: StepRequest) throws(BackendError) -> HistoryEntry {
        var step = step
        if defect == .skipRecordedAsForward, step.kind == .skip { step.kind = .forward }
        return try base.run(step)
    }

    func close() {
        if defect != .closeIgnored { base.close() }
    }
}

@Suite("The conformance suite catches broken backends")
struct ConformanceSuiteTests {
    @Test("A backend with a defect fails the check written for it", arguments: BackendDefect.allCases)
    func defectIsCaught(_ defect: BackendDefect) throws {
        let check = try #require(BackendConformance.allChecks.first { $0.name == defect.catchingCheck })
        let fixture = DefectiveFixture(defect: defect)
        let failure = #expect(throws: ConformanceFailure.self) { try check.run(fixture) }
        #expect(failure?.check == defect.catchingCheck)
        #expect(failure?.description.contains(fixture.description) == true)
    }

    @Test("Unexpected backend errors come back as failures naming the check")
    func unexpectedErrorsNameTheCheck() throws {
        struct UnreachableFixture: BackendFixture {
            let base = MemoryFixture()
            var description: String { "unreachable" }
            var backend: any Backend { base.backend }
            func makeTarget(name: String) throws -> Target {
                Target(name: name, environment: "test", connection: .url("postgres://nowhere/db"))
            }
            func makeSiblingTarget(of target: Target, name: String) throws -> Target? { nil }
            func createTableSQL(_ table: String) -> String { base.createTableSQL(table) }
            var failingSQL: String { base.failingSQL }
            func slowSQL(seconds: Int) -> String { base.slowSQL(seconds: seconds) }
            func createForeignTable(_ table: String, columns: [String], rows: [[String?]], in target: Target) throws {}
            func tableExists(_ table: String, in target: Target) throws -> Bool { false }
        }
        let failure = #expect(throws: ConformanceFailure.self) {
            try BackendConformance.newTargetHasEmptyHistory(UnreachableFixture())
        }
        #expect(failure?.check == "newTargetHasEmptyHistory")
        #expect(failure?.message.contains("unexpected error") == true)
    }
}
