import Testing
import TidemarkCore

@Suite struct SchemaFingerprintTests {
    static func fingerprint(_ build: (inout SchemaFingerprintBuilder) -> Void) -> SchemaFingerprint {
        var builder = SchemaFingerprintBuilder()
        build(&builder)
        return SchemaFingerprint(lines: builder.lines)
    }

    @Test func columnsByTableReadsEachTablesPhysicalOrderBack() {
        let fingerprint = Self.fingerprint { builder in
            builder.table("accounts", columns: [("id", "integer"), ("name", "text"), ("email", "text")])
            builder.table("empty", columns: [])
            builder.add(
                "index", "accounts.accounts_email_key", "CREATE UNIQUE INDEX accounts_email_key ON accounts (email)")
        }
        #expect(fingerprint.columnsByTable == ["accounts": ["id", "name", "email"], "empty": []])
    }

    @Test func schemasDifferingOnlyInColumnOrderCompareAsColumnOrder() {
        let before = Self.fingerprint { $0.table("t", columns: [("a", "int"), ("b", "int")]) }
        let after = Self.fingerprint { $0.table("t", columns: [("b", "int"), ("a", "int")]) }
        guard case .columnOrder = after.compare(to: before) else {
            Issue.record("expected column-order, got \(after.compare(to: before))")
            return
        }
        #expect(before.structureHash == after.structureHash)
        #expect(before.hash != after.hash)
        #expect(after.columnsByTable["t"] == ["b", "a"])
    }

    @Test func aChangedColumnDefinitionIsADifference() {
        let before = Self.fingerprint { $0.table("t", columns: [("a", "int")]) }
        let after = Self.fingerprint { $0.table("t", columns: [("a", "text")]) }
        guard case .different = after.compare(to: before) else {
            Issue.record("expected a difference, got \(after.compare(to: before))")
            return
        }
        #expect(after.compare(to: after) == .equal)
    }
}
