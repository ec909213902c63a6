import TidemarkCore

/// What the name of a script in a plan directory says: its format, version, direction and
/// description. Pure value; thread-safe.
struct ScriptName: Sendable, Hashable {
    /// Whether a script moves a target up (forward) or down (undo).
    enum Direction: String, Sendable {
        case forward, undo
    }

    var format: PlanFormat
    var version: Version
    var direction: Direction
    /// From the name, underscores turned into spaces.
    var description: String
    /// Path relative to the plan directory (`V3__add_email.sql`, `2019-..._x/up.sql`).
    var path: String

    /// The forms a top-level `.sql` file may take, for `PlanError.unparsableName`.
    static let expectedForms =
        "V<version>__<description>.sql or U<version>__<description>.sql (Flyway), <version>_<description>.up.sql or .down.sql (golang-migrate), or a <version>_<name>/ directory holding up.sql (Diesel)"

    /// The form a Diesel migration directory must take.
    static let expectedDieselForm =
        "a <version>_<name>/ directory whose version is digits and dashes, e.g. 2019-02-26-002946_add_users/"

    /// Reads a top-level file name as Flyway or golang-migrate; nil when it is neither.
    static func parseFile(_ name: String) -> ScriptName? {
        flyway(name) ?? golangMigrate(name)
    }

    /// `V1.2__add_email.sql`, `U1.2__add_email.sql`; `V1_2__x.sql` is version 1.2, as Flyway reads it.
    private static func flyway(_ name: String) -> ScriptName? {
        guard let first = name.first, first == "V" || first == "U", name.hasSuffix(".sql") else { return nil }
        let stem = name.dropFirst().dropLast(4)
        guard let separator = stem.range(of: "__") else { return nil }
        let versionText = stem[..<separator.lowerBound].replacingOccurrences(of: "_", with: ".")
        let description = stem[separator.upperBound...]
        guard let version = Version(numeric: versionText), !description.isEmpty else { return nil }
        return ScriptName(
            format: .flyway, version: version, direction: first == "V" ? .forward : .undo,
            description: readable(description), path: name)
    }

    /// `0003_add_email.up.sql`, `0003_add_email.down.sql`.
    private static func golangMigrate(_ name: String) -> ScriptName? {
        let direction: Direction
        let stem: Substring
        if name.hasSuffix(".up.sql") {
            direction = .forward
            stem = name.dropLast(7)
        } else if name.hasSuffix(".down.sql") {
            direction = .undo
            stem = name.dropLast(9)
        } else {
            return nil
        }
        guard let underscore = stem.firstIndex(of: "_"), let version = Version(numeric: String(stem[..<underscore]))
        else { return nil }
        return ScriptName(
            format: .golangMigrate, version: version, direction: direction,
            description: readable(stem[stem.index(after: underscore)...]), path: name)
    }

    /// Reads a Diesel directory name (`2019-02-26-002946_add_users`) as version and description.
    static func parseDieselDirectory(_ name: String) -> (version: Version, description: String)? {
        guard let underscore = name.firstIndex(of: "_") else { return nil }
        let versionText = name[..<underscore]
        guard let first = versionText.first, first.isASCII, first.isNumber,
            versionText.allSatisfy({ $0 == "-" || ($0.isASCII && $0.isNumber) }),
            let version = Version(diesel: String(versionText))
        else { return nil }
        return (version, readable(name[name.index(after: underscore)...]))
    }

    private static func readable(_ text: Substring) -> String {
        text.replacingOccurrences(of: "_", with: " ")
    }
}
