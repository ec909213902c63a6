import TidemarkCore

extension StatementDiagnosis {
    /// Reads `script`'s statements against `live`; nil when the script cannot be split.
    package init?(script: String, failedAt: Int, live: SchemaFingerprint) {
        guard let statements = try? MySQLScript.statements(in: script), failedAt >= 1, failedAt <= statements.count
        else { return nil }
        self.init(
            failedAt: failedAt,
            statements: statements.enumerated().map { offset, statement in
                let effect = MySQLStatementEffect(statement.text)
                let state: Check.State
                switch effect?.isApplied(in: live) {
                case true?: state = .applied
                case false?: state = .notApplied
                case nil: state = .unknown
                }
                let flat = SchemaFingerprintBuilder.collapse(statement.text)
                return Check(
                    number: offset + 1, line: statement.line,
                    summary: flat.count > 72 ? String(flat.prefix(71)) + "…" : flat, state: state,
                    inverse: effect?.inverse, text: statement.text)
            })
    }
}
