import Foundation
import TidemarkCore
import TidemarkSQLCheck

/// The tiny SQL dialect the in-memory backend understands: enough DDL to have a schema to
/// inspect and real failure semantics (creating an existing table, dropping a missing one,
/// selecting from a missing table all fail, as in PostgreSQL). Everything else is accepted and
/// does nothing. Pure and thread-safe.
///
/// Statements and their tokens come from Core's `SQLScanner` and `SQLLexer` (the one lexer);
/// this file only reads one statement's tokens.
enum MemorySQL {
    /// One statement, parsed.
    enum Statement: Sendable, Equatable {
        case createTable(name: String, columns: [String], ifNotExists: Bool)
        case dropTables(names: [String], ifExists: Bool)
        case alterTable(name: String, ifExists: Bool, actions: [AlterAction])
        case createIndex(name: String?, table: String, isUnique: Bool, ifNotExists: Bool)
        case dropIndexes(names: [String], ifExists: Bool)
        /// INSERT, SELECT … FROM, UPDATE, DELETE, TRUNCATE: fails when the table is missing.
        case useTable(String)
        /// `SELECT pg_sleep(seconds)`: keeps the "server" busy, honouring timeout and cancel.
        case sleep(Duration)
        case begin
        case commit
        case rollback
        case noOp
    }

    /// One action of `ALTER TABLE`.
    enum AlterAction: Sendable, Equatable {
        case addColumn(String, ifNotExists: Bool)
        case dropColumn(String, ifExists: Bool)
        case renameTable(to: String)
        case renameColumn(from: String, to: String)
        case other
    }

    /// A statement that fails the way a database would.
    struct Failure: Error, Sendable {
        var message: String
    }

    // MARK: Parsing

    /// A script's statements with their lines, split by `SQLScanner` and parsed. Fleet tests run
    /// the same few scripts on thousands of targets, so results are cached by script text, in a
    /// cache of each worker thread's own: one cache behind a lock made eight workers queue on it
    /// (a fifth of a 100,000-target benchmark's CPU went to the lock even with the text hashed
    /// outside it).
    static func statements(in script: String) -> [(line: Int, statement: Statement)] {
        let cache = ScriptCache.current
        let key = script.hashValue
        if let cached = cache.scripts[key]?.first(where: { $0.script == script }) { return cached.statements }
        let parsed = SQLScanner.statements(in: script).map { (line: $0.line, statement: parse($0.tokens)) }
        // A bound, not an LRU: tests use few distinct scripts; a flood just starts over.
        if cache.scripts.count >= 4_096 { cache.scripts.removeAll(keepingCapacity: true) }
        cache.scripts[key, default: []].append(CachedScript(script: script, statements: parsed))
        return parsed
    }

    fileprivate struct CachedScript {
        var script: String
        var statements: [(line: Int, statement: Statement)]
    }

    /// One thread's parsed scripts by the hash of their text (a list: two texts may share a
    /// hash). Used only by the thread it belongs to (a pthread key), released when it exits.
    private final class ScriptCache {
        var scripts: [Int: [CachedScript]] = [:]

        private static let key: pthread_key_t = {
            var key = pthread_key_t()
            pthread_key_create(&key) { pointer in
                if let pointer { Unmanaged<ScriptCache>.fromOpaque(pointer).release() }
            }
            return key
        }()

        static var current: ScriptCache {
            if let pointer = pthread_getspecific(key) {
                return Unmanaged<ScriptCache>.fromOpaque(pointer).takeUnretainedValue()
            }
            let cache = ScriptCache()
            pthread_setspecific(key, Unmanaged.passRetained(cache).toOpaque())
            return cache
        }
    }

    /// One statement's tokens, as `SQLScanner` split them.
    static func parse(_ statement: [SQLToken]) -> Statement {
        var cursor = TokenCursor(tokens: dialectTokens(statement))
        guard let first = cursor.next() else { return .noOp }
        switch first.upper {
        case "CREATE": return parseCreate(&cursor)
        case "DROP": return parseDrop(&cursor)
        case "ALTER": return parseAlter(&cursor)
        case "INSERT":
            guard cursor.accept("INTO"), let table = cursor.name() else { return .noOp }
            return .useTable(table)
        case "UPDATE":
            _ = cursor.accept("ONLY")
            return cursor.name().map(Statement.useTable) ?? .noOp
        case "DELETE":
            guard cursor.accept("FROM") else { return .noOp }
            _ = cursor.accept("ONLY")
            return cursor.name().map(Statement.useTable) ?? .noOp
        case "TRUNCATE":
            _ = cursor.accept("TABLE")
            _ = cursor.accept("ONLY")
            return cursor.name().map(Statement.useTable) ?? .noOp
        case "SELECT": return parseSelect(&cursor)
        case "BEGIN", "START": return .begin
        case "COMMIT", "END": return .commit
        case "ROLLBACK", "ABORT":
            // ROLLBACK TO SAVEPOINT undoes part of a transaction; the fake keeps it simple.
            return cursor.accept("TO") ? .noOp : .rollback
        default: return .noOp
        }
    }

    private static func parseCreate(_ cursor: inout TokenCursor) -> Statement {
        if cursor.accept("OR") { _ = cursor.accept("REPLACE") }
        _ = cursor.accept("GLOBAL") || cursor.accept("LOCAL")
        _ = cursor.accept("TEMP") || cursor.accept("TEMPORARY") || cursor.accept("UNLOGGED")
        let isUnique = cursor.accept("UNIQUE")
        if cursor.accept("INDEX") {
            _ = cursor.accept("CONCURRENTLY")
            let ifNotExists = cursor.accept(["IF", "NOT", "EXISTS"])
            var name: String?
            if !cursor.peek("ON") { name = cursor.name() }
            guard cursor.accept("ON") else { return .noOp }
            _ = cursor.accept("ONLY")
            guard let table = cursor.name() else { return .noOp }
            return .createIndex(name: name, table: table, isUnique: isUnique, ifNotExists: ifNotExists)
        }
        guard !isUnique, cursor.accept("TABLE") else { return .noOp }
        let ifNotExists = cursor.accept(["IF", "NOT", "EXISTS"])
        guard let name = cursor.name() else { return .noOp }
        var columns: [String] = []
        if cursor.acceptSymbol("(") {
            for element in cursor.elementsUntilClose() {
                guard let head = element.first else { continue }
                if head.kind == .word,
                    ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE", "LIKE"].contains(head.upper)
                {
                    continue
                }
                if head.kind == .word || head.kind == .quoted { columns.append(head.text) }
            }
        }
        return .createTable(name: name, columns: columns, ifNotExists: ifNotExists)
    }

    private static func parseDrop(_ cursor: inout TokenCursor) -> Statement {
        if cursor.accept("TABLE") {
            let ifExists = cursor.accept(["IF", "EXISTS"])
            return .dropTables(names: cursor.nameList(), ifExists: ifExists)
        }
        if cursor.accept("INDEX") {
            _ = cursor.accept("CONCURRENTLY")
            let ifExists = cursor.accept(["IF", "EXISTS"])
            return .dropIndexes(names: cursor.nameList(), ifExists: ifExists)
        }
        return .noOp
    }

    private static func parseAlter(_ cursor: inout TokenCursor) -> Statement {
        guard cursor.accept("TABLE") else { return .noOp }
        let ifExists = cursor.accept(["IF", "EXISTS"])
        _ = cursor.accept("ONLY")
        guard let name = cursor.name() else { return .noOp }
        var actions: [AlterAction] = []
        // PostgreSQL takes several comma-separated actions in one ALTER TABLE.
        for var action in cursor.remainingElements() {
            actions.append(parseAlterAction(&action))
        }
        return .alterTable(name: name, ifExists: ifExists, actions: actions)
    }

    private static func parseAlterAction(_ cursor: inout TokenCursor) -> AlterAction {
        if cursor.accept("ADD") {
            let constraintWords = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "EXCLUDE"]
            if constraintWords.contains(where: { cursor.peek($0) }) { return .other }
            _ = cursor.accept("COLUMN")
            let ifNotExists = cursor.accept(["IF", "NOT", "EXISTS"])
            return cursor.identifier().map { .addColumn($0, ifNotExists: ifNotExists) } ?? .other
        }
        if cursor.accept("DROP") {
            if cursor.peek("CONSTRAINT") { return .other }
            _ = cursor.accept("COLUMN")
            let ifExists = cursor.accept(["IF", "EXISTS"])
            return cursor.identifier().map { .dropColumn($0, ifExists: ifExists) } ?? .other
        }
        if cursor.accept("RENAME") {
            if cursor.accept("TO") { return cursor.identifier().map { .renameTable(to: $0) } ?? .other }
            if cursor.peek("CONSTRAINT") { return .other }
            _ = cursor.accept("COLUMN")
            guard let from = cursor.identifier(), cursor.accept("TO"), let to = cursor.identifier() else {
                return .other
            }
            return .renameColumn(from: from, to: to)
        }
        return .other
    }

    private static func parseSelect(_ cursor: inout TokenCursor) -> Statement {
        if cursor.peek("PG_SLEEP") {
            _ = cursor.next()
            if cursor.acceptSymbol("("), let number = cursor.next(), number.kind == .number,
                let seconds = Double(number.text)
            {
                return .sleep(.milliseconds(Int64((seconds * 1000).rounded())))
            }
            return .noOp
        }
        // The first table after a top-level FROM; a function (`FROM generate_series(…)`) or a
        // subquery is not a table.
        while let token = cursor.next() {
            if token.kind == .symbol, token.text == "(" {
                cursor.skipToClose()
                continue
            }
            if token.kind == .word, token.upper == "FROM" {
                guard let table = cursor.name(), !cursor.peekSymbol("(") else { return .noOp }
                return .useTable(table)
            }
        }
        return .noOp
    }

    // MARK: Applying

    /// Applies a schema statement to `schema`; statements without a schema effect are no-ops.
    static func apply(_ statement: Statement, to schema: inout MemorySchema) throws(Failure) {
        switch statement {
        case .createTable(let name, let columns, let ifNotExists):
            if schema.tables[name] != nil {
                if ifNotExists { return }
                throw Failure(message: "relation \"\(name)\" already exists")
            }
            var seen: Set<String> = []
            for column in columns where !seen.insert(column).inserted {
                throw Failure(message: "column \"\(column)\" specified more than once")
            }
            schema.tables[name] = MemoryTable(name: name, columns: columns)
        case .dropTables(let names, let ifExists):
            for name in names {
                guard schema.tables.removeValue(forKey: name) != nil else {
                    if ifExists { continue }
                    throw Failure(message: "table \"\(name)\" does not exist")
                }
                schema.indexes = schema.indexes.filter { $0.value.table != name }
            }
        case .alterTable(let name, let ifExists, let actions):
            guard var table = schema.tables[name] else {
                if ifExists { return }
                throw Failure(message: "relation \"\(name)\" does not exist")
            }
            var tableName = name
            for action in actions {
                switch action {
                case .addColumn(let column, let ifNotExists):
                    if table.columns.contains(column) {
                        if ifNotExists { continue }
                        throw Failure(message: "column \"\(column)\" of relation \"\(tableName)\" already exists")
                    }
                    table.columns.append(column)
                case .dropColumn(let column, let ifExists):
                    guard let index = table.columns.firstIndex(of: column) else {
                        if ifExists { continue }
                        throw Failure(message: "column \"\(column)\" of relation \"\(tableName)\" does not exist")
                    }
                    table.columns.remove(at: index)
                case .renameTable(let newName):
                    if schema.tables[newName] != nil {
                        throw Failure(message: "relation \"\(newName)\" already exists")
                    }
                    tableName = newName
                case .renameColumn(let from, let to):
                    guard let index = table.columns.firstIndex(of: from) else {
                        throw Failure(message: "column \"\(from)\" does not exist")
                    }
                    if table.columns.contains(to) {
                        throw Failure(message: "column \"\(to)\" of relation \"\(tableName)\" already exists")
                    }
                    table.columns[index] = to
                case .other:
                    continue
                }
            }
            if tableName != name {
                schema.tables.removeValue(forKey: name)
                for (key, index) in schema.indexes where index.table == name { schema.indexes[key]?.table = tableName }
            }
            table.name = tableName
            schema.tables[tableName] = table
        case .createIndex(let name, let table, let isUnique, let ifNotExists):
            guard schema.tables[table] != nil else { throw Failure(message: "relation \"\(table)\" does not exist") }
            var indexName = name ?? "\(table)_idx"
            if name == nil {
                // PostgreSQL names an unnamed index after its table, adding a number if taken.
                var suffix = 1
                while schema.indexes[indexName] != nil || schema.tables[indexName] != nil {
                    indexName = "\(table)_idx\(suffix)"
                    suffix += 1
                }
            }
            if schema.indexes[indexName] != nil || schema.tables[indexName] != nil {
                if ifNotExists { return }
                throw Failure(message: "relation \"\(indexName)\" already exists")
            }
            schema.indexes[indexName] = MemoryIndex(name: indexName, table: table, isUnique: isUnique)
        case .dropIndexes(let names, let ifExists):
            for name in names where schema.indexes.removeValue(forKey: name) == nil && !ifExists {
                throw Failure(message: "index \"\(name)\" does not exist")
            }
        case .useTable(let table):
            guard schema.tables[table] != nil else { throw Failure(message: "relation \"\(table)\" does not exist") }
        case .sleep, .begin, .commit, .rollback, .noOp:
            return
        }
    }

    // MARK: Tokens

    struct Token: Sendable, Equatable {
        enum Kind: Sendable { case word, quoted, number, string, symbol }
        var kind: Kind
        /// Names folded as PostgreSQL folds them: words lower-cased, quoted names as written.
        var text: String
        /// Upper-cased, for keyword comparison (words only).
        var upper: String
    }

    /// Core's tokens in the dialect's terms: bare names folded to lower case as PostgreSQL folds
    /// them, quotes removed from names and strings, and a decimal number (which the lexer reads
    /// as `0`, `.`, `5`) joined into one token.
    static func dialectTokens(_ tokens: [SQLToken]) -> [Token] {
        var result: [Token] = []
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            switch token.kind {
            case .word where token.text.first.map { $0.isASCII && $0.isNumber } == true:
                var number = token.text
                if index + 2 < tokens.count, tokens[index + 1].text == ".", tokens[index + 1].start == token.end,
                    tokens[index + 2].kind == .word, tokens[index + 2].start == tokens[index + 1].end,
                    tokens[index + 2].text.allSatisfy({ $0.isASCII && $0.isNumber })
                {
                    number += "." + tokens[index + 2].text
                    index += 2
                }
                result.append(Token(kind: .number, text: number, upper: number))
            case .word:
                result.append(
                    Token(kind: .word, text: token.text.lowercased(), upper: token.keyword ?? token.text.uppercased()))
            case .quoted:
                let isName = token.text.hasPrefix("\"")
                result.append(Token(kind: isName ? .quoted : .string, text: unquoted(token.text), upper: ""))
            case .dollarQuoted:
                result.append(Token(kind: .string, text: "", upper: ""))
            case .punctuation:
                result.append(Token(kind: .symbol, text: token.text, upper: token.text))
            }
            index += 1
        }
        return result
    }

    /// A quoted token's value: `"a""b"` is `a"b`, `'it''s'` is `it's`, `E'x'` is `x`.
    static func unquoted(_ text: String) -> String {
        var body = Substring(text)
        if body.first == "E" || body.first == "e" { body = body.dropFirst() }
        guard let quote = body.first else { return "" }
        body = body.dropFirst()
        if body.last == quote { body = body.dropLast() }
        return body.replacingOccurrences(of: String(repeating: quote, count: 2), with: String(quote))
    }

    /// Reads tokens front to back.
    struct TokenCursor {
        var tokens: [Token]
        var position = 0

        mutating func next() -> Token? {
            guard position < tokens.count else { return nil }
            defer { position += 1 }
            return tokens[position]
        }

        func peek(_ keyword: String) -> Bool {
            position < tokens.count && tokens[position].kind == .word && tokens[position].upper == keyword
        }

        func peekSymbol(_ symbol: String) -> Bool {
            position < tokens.count && tokens[position].kind == .symbol && tokens[position].text == symbol
        }

        mutating func accept(_ keyword: String) -> Bool {
            guard peek(keyword) else { return false }
            position += 1
            return true
        }

        /// Accepts the whole sequence or nothing.
        mutating func accept(_ keywords: [String]) -> Bool {
            let saved = position
            for keyword in keywords where !accept(keyword) {
                position = saved
                return false
            }
            return true
        }

        mutating func acceptSymbol(_ symbol: String) -> Bool {
            guard peekSymbol(symbol) else { return false }
            position += 1
            return true
        }

        /// An identifier: a word or a quoted name.
        mutating func identifier() -> String? {
            guard position < tokens.count, tokens[position].kind == .word || tokens[position].kind == .quoted else {
                return nil
            }
            defer { position += 1 }
            return tokens[position].text
        }

        /// A possibly schema-qualified name (`app.users`); the qualifier is dropped.
        mutating func name() -> String? {
            guard var name = identifier() else { return nil }
            while acceptSymbol(".") {
                guard let part = identifier() else { return nil }
                name = part
            }
            return name
        }

        /// `a, b, c` followed by anything (CASCADE, RESTRICT).
        mutating func nameList() -> [String] {
            var names: [String] = []
            while let name = name() {
                names.append(name)
                guard acceptSymbol(",") else { break }
            }
            return names
        }

        /// Skips to just past the `)` matching an already consumed `(`.
        mutating func skipToClose() {
            var depth = 1
            while let token = next() {
                guard token.kind == .symbol else { continue }
                if token.text == "(" { depth += 1 }
                if token.text == ")" {
                    depth -= 1
                    if depth == 0 { return }
                }
            }
        }

        /// The comma-separated elements up to the `)` matching an already consumed `(`.
        mutating func elementsUntilClose() -> [[Token]] {
            var elements: [[Token]] = [[]]
            var depth = 1
            while let token = next() {
                if token.kind == .symbol {
                    if token.text == "(" { depth += 1 }
                    if token.text == ")" {
                        depth -= 1
                        if depth == 0 { break }
                    }
                    if token.text == ",", depth == 1 {
                        elements.append([])
                        continue
                    }
                }
                elements[elements.count - 1].append(token)
            }
            return elements.filter { !$0.isEmpty }
        }

        /// The rest, split at top-level commas, each part as its own cursor.
        mutating func remainingElements() -> [TokenCursor] {
            var parts: [[Token]] = [[]]
            var depth = 0
            while let token = next() {
                if token.kind == .symbol {
                    if token.text == "(" { depth += 1 }
                    if token.text == ")" { depth -= 1 }
                    if token.text == ",", depth == 0 {
                        parts.append([])
                        continue
                    }
                }
                parts[parts.count - 1].append(token)
            }
            return parts.filter { !$0.isEmpty }.map { TokenCursor(tokens: $0) }
        }
    }
}
