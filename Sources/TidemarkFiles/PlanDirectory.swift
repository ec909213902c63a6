import Foundation
import TidemarkCore
import TidemarkSQLCheck

/// Reads and writes plan directories (`plans/<name>/`). Stateless; thread-safe.
///
/// The layout (Flyway, golang-migrate, Diesel, or Sqitch when a sqitch.plan is present) is detected. Loading collects
/// every problem in the directory before failing, so one `validate` run lists them all.
package enum PlanDirectory {
    /// Reads plans/<name>/: detects the format, every problem collected (not just the first).
    ///
    /// Top-level files that are not `.sql` (plan.yaml, fingerprints.json, README.md, dot-files)
    /// are ignored, and so are subdirectories without an `up.sql`.
    package static func load(at path: String) throws(PlanProblems) -> Plan {
        var loader = PlanLoader(directory: path)
        return try loader.load()
    }

    /// Human notes for `validate`: versions without undo script, scripts that run outside a transaction and why (NoTransactionReason.explanation), quarantined versions.
    ///
    /// Also notes compensating migrations, acknowledged data loss and irreversible undos.
    /// In version order; quarantined versions last.
    package static func notices(for plan: Plan) -> [String] {
        var notes: [String] = []
        // Sqitch writes BEGIN … COMMIT in every script: one line for all of them, not one each.
        var selfManaged: [String] = []
        for migration in plan.migrations {
            let version = migration.version.text
            if migration.undo == nil {
                notes.append(
                    "version \(version) (\(migration.forward.path)) has no undo script; rolling it back will be blocked."
                )
            }
            for script in [migration.forward] + (migration.undo.map { [$0] } ?? []) {
                if plan.format == .sqitch, case .managesOwnTransaction = script.noTransaction {
                    selfManaged.append(script.path)
                } else if let reason = script.noTransaction {
                    notes.append("\(script.path) runs outside a transaction: \(reason.explanation).")
                }
                if let reason = script.dataLossAcknowledged {
                    notes.append("\(script.path) loses data (acknowledged: \(reason)).")
                }
                if let reason = script.lockAcknowledged {
                    notes.append("\(script.path) may lock live tables (acknowledged: \(reason)).")
                }
            }
            if let compensated = migration.compensates {
                notes.append("version \(version) compensates version \(compensated.text) (rolls it forward).")
            }
            if let undo = migration.undo, let reason = undo.irreversible {
                notes.append(
                    "version \(version) is irreversible (\(reason)); rolling it back needs a restore from backup.")
            }
        }
        if !selfManaged.isEmpty {
            let all = selfManaged.count == plan.migrations.reduce(0) { $0 + 1 + ($1.undo == nil ? 0 : 1) }
            notes.append(
                "\(all ? "all \(selfManaged.count)" : "\(selfManaged.count)") deploy and revert scripts manage their own transaction (BEGIN … COMMIT, as Sqitch writes them); they run as written."
            )
        }
        for entry in plan.quarantine {
            let since = entry.at.isEmpty ? "" : " since \(entry.at)"
            notes.append("version \(entry.version.text) is quarantined\(since): \(entry.reason).")
        }
        return notes
    }

    /// What `validate` says of a plan in Sqitch's layout: its project, changes and tags, the
    /// reworked changes and where their old scripts are, and which versions have verify scripts.
    /// Empty for other layouts.
    package static func sqitchSummary(for plan: Plan) -> [String] {
        let changes = plan.migrations.compactMap { migration in migration.sqitch.map { (migration, $0) } }
        guard plan.format == .sqitch, let project = changes.first?.1.project else { return [] }
        var lines: [String] = []
        let tags = changes.flatMap { migration, change in
            change.tags.map { "@\($0) (version \(migration.version.text))" }
        }
        let names = Set(changes.map(\.1.name))
        lines.append(
            "sqitch project \(project) (\(SqitchPlanFile.fileName)): \(changes.count) change\(changes.count == 1 ? "" : "s") (\(names.count) name\(names.count == 1 ? "" : "s")), "
                + (tags.isEmpty ? "no tags" : "tags " + tags.joined(separator: ", ")))
        var seen: Set<String> = []
        for (_, change) in changes where seen.insert(change.name).inserted {
            let versions = changes.filter { $0.1.name == change.name }
            guard versions.count > 1 else { continue }
            let described = versions.map { migration, _ in
                "version \(migration.version.text) (\(migration.forward.path))"
            }
            lines.append("reworked: \(change.name) is \(described.joined(separator: ", then "))")
        }
        let missing = changes.filter { $0.0.verify == nil }.map { "\($0.0.version.text) (\($0.1.qualifiedName))" }
        if missing.isEmpty {
            lines.append(
                "verify scripts: all \(changes.count) versions have one; `rehearse` runs them, and `apply --verify`.")
        } else {
            lines.append(
                "verify scripts: \(changes.count - missing.count) of \(changes.count) versions have one; missing for version\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", "))."
            )
        }
        return lines
    }

    /// Writes plan.yaml (name + quarantine list), preserving nothing else is fine; used by `tidemark quarantine` later.
    ///
    /// The file is replaced atomically.
    package static func saveManifest(
        name: String?, quarantine: [QuarantineEntry], to directory: String
    ) throws(PlanManifestWriteError) {
        let file = PathText.join(directory, PlanManifest.fileName)
        let text = PlanManifest.render(name: name, quarantine: quarantine)
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw PlanManifestWriteError(file: file, reason: FileReading.reason(for: error))
        }
    }
}

/// One pass over one plan directory, collecting problems. Not shared; used by one call.
private struct PlanLoader {
    /// A version's scripts as found by name.
    struct Pair {
        var forward: ScriptName?
        var undo: ScriptName?
    }

    /// A `compensates` directive waiting for the whole plan to be known.
    struct Compensation {
        var version: Version
        var compensated: Version
        var location: SourceLocation
    }

    let directory: String
    /// Where the plan directory really is: nothing outside it is read.
    let folder: PlanFolder
    var errors: [PlanError] = []
    let fileManager = FileManager.default

    init(directory: String) {
        self.directory = directory
        folder = PlanFolder(directory: directory)
    }

    /// The path shown in messages: the plan directory as given, joined with `relative`.
    func display(_ relative: String) -> String {
        PathText.join(directory, relative)
    }

    func exists(_ path: String, directory wantDirectory: Bool) -> Bool {
        var isDirectory: ObjCBool = false
        return fileManager.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue == wantDirectory
    }

    mutating func load() throws(PlanProblems) -> Plan {
        guard exists(directory, directory: true) else {
            throw PlanProblems(errors: [.directoryNotFound(path: directory)])
        }
        let names: [String]
        switch folder.names() {
        case .names(let found):
            names = found.sorted()
        case .badName(let bad):
            throw PlanProblems(errors: [
                .fileNameNotUTF8(directory: directory, name: bad.shown, byteOffset: bad.byteOffset)
            ])
        case .unreadable(let reason):
            throw PlanProblems(errors: [.unreadable(file: directory, reason: reason)])
        }

        if names.contains(SqitchPlanFile.fileName) && exists(display(SqitchPlanFile.fileName), directory: false) {
            return try loadSqitch(names)
        }
        let scripts = findScripts(names)
        let format = scripts.first?.format ?? .flyway
        reportMixedFormats(scripts, format: format)
        let (order, pairs) = pairUp(scripts)
        for version in order {
            if let pair = pairs[version], pair.forward == nil, let undo = pair.undo {
                errors.append(.undoWithoutForward(file: display(undo.path), version: undo.version.text))
            }
        }
        if !pairs.values.contains(where: { $0.forward != nil }) && errors.isEmpty {
            throw PlanProblems(errors: [.noMigrations(path: directory)])
        }

        let style: VersionStyle = format == .diesel ? .diesel : .numeric
        var migrations: [Migration] = []
        var compensations: [Compensation] = []
        for version in order {
            guard let pair = pairs[version], let forwardName = pair.forward else { continue }
            let metadata = forwardName.format == .diesel ? dieselMetadata(for: forwardName) : nil
            guard let forward = readScript(forwardName, style: style, metadata: metadata) else { continue }
            var undo: Script?
            if let undoName = pair.undo {
                guard let read = readScript(undoName, style: style, metadata: metadata) else { continue }
                undo = read.script
            }
            if let compensates = forward.directives.compensates {
                compensations.append(
                    Compensation(version: version, compensated: compensates.version, location: compensates.location))
            }
            migrations.append(
                Migration(version: version, description: forwardName.description, forward: forward.script, undo: undo))
        }
        checkCompensations(compensations, versions: Set(migrations.map(\.version)))

        let manifest = readManifest(style: style, versions: Set(pairs.keys))
        let name = manifest?.name ?? PathText.lastComponent(of: PathText.absolute(directory))
        guard errors.isEmpty else { throw PlanProblems(errors: errors) }
        return Plan(
            name: name, directory: directory, format: format, migrations: migrations,
            quarantine: manifest?.quarantine.map(\.entry) ?? [])
    }

    /// A Sqitch project: sqitch.plan read as Sqitch reads it, version k is the k-th change, its
    /// scripts `deploy/`, `revert/` and `verify/` `<name>.sql`, or `<name>@<tag>.sql` for a change
    /// reworked later in the plan (the newest `<name>.sql` belongs to the newest change of that name).
    mutating func loadSqitch(_ names: [String]) throws(PlanProblems) -> Plan {
        let planFile = display(SqitchPlanFile.fileName)
        // Any Flyway, golang-migrate or Diesel script next to sqitch.plan makes the plan ambiguous.
        for script in findScripts(names) {
            errors.append(
                .mixedFormats(
                    path: directory, first: SqitchPlanFile.fileName, firstFormat: .sqitch, second: script.path,
                    secondFormat: script.format))
            break
        }
        guard
            let data = readData(
                planFile, limit: InputLimits.scriptBytes, what: "sqitch.plan files", fix: "split the project"),
            let text = utf8Text(data, file: planFile)
        else { throw PlanProblems(errors: errors) }
        let sqitch: SqitchPlanFile
        do {
            sqitch = try SqitchPlanFile.parse(text, file: planFile)
        } catch {
            throw PlanProblems(errors: errors + error.errors)
        }
        var migrations: [Migration] = []
        for (offset, change) in sqitch.changes.enumerated() {
            let position = offset + 1
            guard let version = Version(numeric: String(position)) else { continue }
            let scriptTag = scriptTag(for: change)
            let relative = sqitchScriptPath(change.name, tag: scriptTag)
            let location = SourceLocation(file: planFile, line: change.line, column: change.column)
            let deployPath = "deploy/" + relative
            guard exists(display(deployPath), directory: false) else {
                let why =
                    scriptTag == nil
                    ? "add it (sqitch add \(change.name) writes one)"
                    : "change \"\(change.name)\" is reworked later in the plan, so this one's scripts carry the tag @\(scriptTag ?? ""); `sqitch rework` copies them there"
                errors.append(
                    .badPlanFile(
                        location: location,
                        message:
                            "change \"\(change.name)\" (version \(position)) has no deploy script \(display(deployPath)); \(why)."
                    ))
                continue
            }
            func script(_ path: String, _ direction: ScriptName.Direction) -> Script? {
                readScript(
                    ScriptName(
                        format: .sqitch, version: version, direction: direction, description: change.name, path: path),
                    style: .numeric, metadata: nil)?.script
            }
            guard let forward = script(deployPath, .forward) else { continue }
            let revertPath = "revert/" + relative
            let verifyPath = "verify/" + relative
            let undo = exists(display(revertPath), directory: false) ? script(revertPath, .undo) : nil
            let verify = exists(display(verifyPath), directory: false) ? script(verifyPath, .forward) : nil
            migrations.append(
                Migration(
                    version: version, description: change.name, forward: forward, undo: undo, verify: verify,
                    sqitch: SqitchChange(
                        project: sqitch.project, name: change.name, id: change.id, tags: change.tags,
                        scriptTag: scriptTag,
                        line: change.line)))
        }
        let manifest = readManifest(style: .numeric, versions: Set(migrations.map(\.version)))
        guard errors.isEmpty else { throw PlanProblems(errors: errors) }
        if migrations.isEmpty { throw PlanProblems(errors: [.noMigrations(path: directory)]) }
        return Plan(
            name: manifest?.name ?? sqitch.project, directory: directory, format: .sqitch, migrations: migrations,
            quarantine: manifest?.quarantine.map(\.entry) ?? [])
    }

    /// The tag a reworked change's old scripts carry: the first of its rework tags whose deploy
    /// script exists, else the first (as App::Sqitch::Plan::Change finds it); nil if not reworked.
    func scriptTag(for change: SqitchPlanFile.Change) -> String? {
        guard let first = change.reworkTags.first else { return nil }
        let found = change.reworkTags.first { tag in
            exists(display("deploy/" + sqitchScriptPath(change.name, tag: tag)), directory: false)
        }
        return found ?? first
    }

    /// `name.sql`, or `name@tag.sql`; a name with `/` is a path under the script folder.
    func sqitchScriptPath(_ name: String, tag: String?) -> String {
        name + (tag.map { "@" + $0 } ?? "") + ".sql"
    }

    /// Every script the names describe, in name order; unparsable `.sql` names are reported.
    mutating func findScripts(_ names: [String]) -> [ScriptName] {
        var scripts: [ScriptName] = []
        for name in names where !name.hasPrefix(".") {
            let full = display(name)
            if exists(full, directory: true) {
                // Only a directory holding up.sql is a Diesel migration; others are not ours.
                guard exists(PathText.join(full, "up.sql"), directory: false) else { continue }
                guard let parsed = ScriptName.parseDieselDirectory(name) else {
                    errors.append(.unparsableName(file: full, expected: ScriptName.expectedDieselForm))
                    continue
                }
                scripts.append(
                    ScriptName(
                        format: .diesel, version: parsed.version, direction: .forward,
                        description: parsed.description, path: name + "/up.sql"))
                if exists(PathText.join(full, "down.sql"), directory: false) {
                    scripts.append(
                        ScriptName(
                            format: .diesel, version: parsed.version, direction: .undo,
                            description: parsed.description, path: name + "/down.sql"))
                }
            } else if name.lowercased().hasSuffix(".sql") {
                guard let parsed = ScriptName.parseFile(name) else {
                    errors.append(.unparsableName(file: full, expected: ScriptName.expectedForms))
                    continue
                }
                scripts.append(parsed)
            }
        }
        return scripts
    }

    /// One error per format other than the first file's, naming the first file of each.
    mutating func reportMixedFormats(_ scripts: [ScriptName], format: PlanFormat) {
        guard let first = scripts.first else { return }
        var reported: Set<PlanFormat> = [format]
        for script in scripts where !reported.contains(script.format) {
            reported.insert(script.format)
            errors.append(
                .mixedFormats(
                    path: directory, first: first.path, firstFormat: format, second: script.path,
                    secondFormat: script.format))
        }
    }

    /// Scripts grouped by version (in first-seen order); a second script for the same version
    /// and direction is reported. Versions compare by value, so `1.2` and `1.02` collide.
    mutating func pairUp(_ scripts: [ScriptName]) -> (order: [Version], pairs: [Version: Pair]) {
        var order: [Version] = []
        var pairs: [Version: Pair] = [:]
        for script in scripts {
            if pairs[script.version] == nil {
                order.append(script.version)
                pairs[script.version] = Pair()
            }
            let existing = script.direction == .forward ? pairs[script.version]?.forward : pairs[script.version]?.undo
            if let existing {
                errors.append(
                    .duplicateVersion(
                        version: script.version.text, direction: script.direction.rawValue, first: existing.path,
                        second: display(script.path)))
            } else if script.direction == .forward {
                pairs[script.version]?.forward = script
            } else {
                pairs[script.version]?.undo = script
            }
        }
        return (order, pairs)
    }

    /// The Diesel migration's metadata.toml, if it has one.
    mutating func dieselMetadata(for forward: ScriptName) -> DieselMetadata? {
        let relative = PathText.join(PathText.directory(of: forward.path), "metadata.toml")
        let file = display(relative)
        guard exists(file, directory: false) else { return nil }
        guard let text = readText(file) else { return nil }
        return DieselMetadata.parse(text, file: file, errors: &errors)
    }

    /// Reads one script: text, checksum, directives and whether it runs outside a transaction.
    mutating func readScript(
        _ name: ScriptName, style: VersionStyle, metadata: DieselMetadata?
    ) -> (script: Script, directives: ScriptDirectives)? {
        let file = display(name.path)
        guard
            let data = readData(
                file, limit: InputLimits.scriptBytes, what: "scripts",
                fix: "split it (load bulk data with COPY from a file)"), var sql = utf8Text(data, file: file)
        else { return nil }
        if sql.hasPrefix("\u{FEFF}") { sql.removeFirst() }
        let statements = SQLScanner.statements(in: sql, keywordLimit: 16)
        if statements.count > InputLimits.statementsPerScript {
            let first = statements[InputLimits.statementsPerScript]
            errors.append(
                .badPlanFile(
                    location: SourceLocation(file: file, line: first.line, column: 1),
                    message:
                        "this script has more than \(InputLimits.statementsPerScript) statements (this is the first past the limit); split it into several versions."
                ))
            return nil
        }
        let directives = ScriptDirectives.read(
            sql: sql, file: file, direction: name.direction, style: style, errors: &errors)
        let noTransaction: NoTransactionReason?
        if directives.noTransaction {
            noTransaction = .directive
        } else if let metadata, !metadata.runInTransaction {
            noTransaction = .dieselMetadata
        } else {
            noTransaction = TransactionDetection.reason(for: statements)
        }
        if let batch = directives.batch {
            checkBatched(statements: statements, batch: batch, noTransaction: noTransaction, file: file)
        }
        let checksums = Checksum.script(data, acknowledgements: directives.acknowledgementLines)
        let script = Script(
            path: name.path, sql: sql, checksum: checksums.checksum, wholeFileChecksum: checksums.wholeFile,
            noTransaction: noTransaction,
            compensates: directives.compensates?.version, dataLossAcknowledged: directives.dataLossAcknowledged,
            irreversible: directives.irreversible, lockAcknowledged: directives.lockAcknowledged,
            batch: directives.batch?.spec)
        return (script, directives)
    }

    /// A batched script holds exactly one statement, runs in Tidemark's transactions (one per
    /// batch), and uses both placeholders (docs/backfills.md#the-directive).
    mutating func checkBatched(
        statements: [SQLScanner.Statement], batch: (spec: BatchSpec, location: SourceLocation),
        noTransaction: NoTransactionReason?, file: String
    ) {
        let example =
            "UPDATE \(batch.spec.table) SET … WHERE \(batch.spec.key) >= :batch_start AND \(batch.spec.key) < :batch_end"
        guard let statement = statements.first else {
            errors.append(
                .badDirective(
                    location: batch.location, message: "a batched script needs one statement, e.g. \(example)."))
            return
        }
        if statements.count > 1 {
            errors.append(
                .badDirective(
                    location: SourceLocation(file: file, line: statements[1].line, column: 1),
                    message:
                        "a batched script holds exactly one statement (each batch runs it once); this is statement 2 of \(statements.count): move it to its own version."
                ))
            return
        }
        if let noTransaction {
            errors.append(
                .badDirective(
                    location: batch.location,
                    message:
                        "a batched script runs each batch in Tidemark's own transaction, but this one \(noTransaction.explanation); remove one of the two."
                ))
            return
        }
        let uses = BatchStatement.uses(statement.text)
        let missing = [uses.start ? nil : BatchSpec.startPlaceholder, uses.end ? nil : BatchSpec.endPlaceholder]
            .compactMap { $0 }
        if !missing.isEmpty {
            errors.append(
                .badDirective(
                    location: SourceLocation(file: file, line: statement.line, column: 1),
                    message:
                        "a batched statement must use \(missing.joined(separator: " and ")) to limit each batch to its key range; write e.g. \(example)."
                ))
        }
    }

    /// A compensating version must name an earlier version of this plan.
    mutating func checkCompensations(_ compensations: [Compensation], versions: Set<Version>) {
        for compensation in compensations {
            let version = compensation.version.text
            let compensated = compensation.compensated.text
            let message: String
            if compensation.compensated == compensation.version {
                message =
                    "version \(version) cannot compensate itself; name the earlier version this migration rolls forward."
            } else if !versions.contains(compensation.compensated) {
                message =
                    "tidemark:compensates \(compensated): version \(compensated) is not in this plan; name the earlier version this migration rolls forward."
            } else if compensation.compensated > compensation.version {
                message =
                    "version \(version) cannot compensate version \(compensated), which comes after it; a compensating migration needs a version above the one it rolls forward."
            } else {
                continue
            }
            errors.append(.badDirective(location: compensation.location, message: message))
        }
    }

    /// plan.yaml, if present; quarantined versions must be in the plan.
    mutating func readManifest(style: VersionStyle, versions: Set<Version>) -> PlanManifest? {
        let file = display(PlanManifest.fileName)
        guard exists(file, directory: false), let text = readText(file) else { return nil }
        let manifest = PlanManifest.parse(text, file: file, style: style, errors: &errors)
        for quarantined in manifest.quarantine where !versions.contains(quarantined.entry.version) {
            errors.append(
                .badPlanFile(
                    location: quarantined.location,
                    message:
                        "quarantined version \(quarantined.entry.version.text) is not in this plan; remove it from plan.yaml or restore its scripts."
                ))
        }
        return manifest
    }

    /// The file's bytes; a file over `limit` bytes is reported without being read, and so is a
    /// file that resolves outside the plan directory.
    mutating func readData(_ file: String, limit: Int, what: String, fix: String) -> Data? {
        if let escape = folder.escape(of: relative(file)) {
            errors.append(.outsidePlan(link: escape.link, resolved: escape.resolved, directory: directory))
            return nil
        }
        let size = (try? fileManager.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
        guard size <= limit else {
            errors.append(
                .unreadable(
                    file: file,
                    reason:
                        "it is \(InputLimits.size(size)); Tidemark reads \(what) up to \(InputLimits.size(limit)): \(fix)"
                ))
            return nil
        }
        do {
            return try FileContents.data(atPath: file)
        } catch {
            errors.append(.unreadable(file: file, reason: FileReading.reason(for: error)))
            return nil
        }
    }

    /// `file` (a `display` path) relative to the plan directory.
    func relative(_ file: String) -> String {
        guard !directory.isEmpty, file.hasPrefix(directory) else { return file }
        return String(file.dropFirst(directory.count).drop { $0 == "/" })
    }

    /// `data` as text; text that is not UTF-8, or that holds a NUL byte, is reported where its
    /// first bad byte is. PostgreSQL and SQLite both stop reading a statement at a NUL, so
    /// everything after one was skipped while the step was recorded as run.
    mutating func utf8Text(_ data: Data, file: String) -> String? {
        let bytes = Array(data)
        if let offset = JSONTextPosition.firstInvalidUTF8(in: bytes) {
            errors.append(
                .badPlanFile(
                    location: SourceLocation(file: file, byteOffset: offset, in: bytes),
                    message: "this file is not UTF-8 text here; save it as UTF-8."))
            return nil
        }
        if let offset = bytes.firstIndex(of: 0) {
            errors.append(
                .badPlanFile(
                    location: SourceLocation(file: file, byteOffset: offset, in: bytes),
                    message:
                        "this file holds a NUL byte here; databases stop reading a script at a NUL, so remove it (a script is text)."
                ))
            return nil
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func readText(_ file: String) -> String? {
        guard
            let data = readData(
                file, limit: InputLimits.planSettingsBytes, what: "plan.yaml and metadata.toml",
                fix: "keep settings only in it"),
            var text = utf8Text(data, file: file)
        else { return nil }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        return text
    }
}

/// Short reasons for file errors, without Foundation's long sentences. Pure; thread-safe.
enum FileReading {
    static func reason(for error: any Error) -> String {
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileReadNoSuchFile, .fileNoSuchFile: return "no such file"
            case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
            case .fileWriteOutOfSpace: return "no space left on the device"
            case .fileWriteVolumeReadOnly: return "the file system is read-only"
            default: break
            }
        }
        return error.localizedDescription
    }
}
