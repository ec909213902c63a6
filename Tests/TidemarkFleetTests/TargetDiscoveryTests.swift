import Foundation
import Testing
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles
import TidemarkFleet
import TidemarkTestSupport

/// Command sources without a database server (docs/tenants.md#command-sources): a real program
/// in the inventory's folder prints JSON lines; its targets take the source's place, carry its
/// tags, and are named by its template; a template field the row lacks is said with the row.
@Suite("Discovered targets from a command")
struct TargetDiscoveryTests {
    func inventory(_ script: String, entry: String) throws -> (Inventory, URL) {
        let root = try CommandRunner.temporaryDirectory("tidemark-discovery")
        let program = root.appendingPathComponent("inventories/bin/tenants")
        try TestWorkspace.write(
            [
                "inventories/bin/tenants": script,
                "inventories/saas.yaml": """
                plan: ../plans/app
                environments:
                  tenants:
                    tier: dev
                    targets:
                      - { name: first, url: "memory:first" }
                \(entry)
                      - { name: last, url: "memory:last" }
                """,
            ], under: root)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: program.path)
        return (try InventoryFile.load(at: root.appendingPathComponent("inventories/saas.yaml").path), root)
    }

    @Test func commandRowsBecomeTargetsInTheSourcesPlaceWithItsTagsAndTemplate() async throws {
        let (parsed, root) = try inventory(
            "#!/bin/sh\necho '{\"id\": 7, \"url\": \"memory:t7\", \"tags\": [\"gold\"]}'\necho\necho '{\"id\": 8, \"url\": \"memory:t8\"}'\n",
            entry: "      - discover: { command: [\"./bin/tenants\"], name: \"tenant-{id}\", tags: [eu] }")
        defer { try? FileManager.default.removeItem(at: root) }
        let resolved = try await TargetDiscovery(registry: BackendRegistry([MemoryBackend()]), logger: .silent).resolve(
            parsed)
        let targets = try #require(resolved.environment(named: "tenants")).targets
        #expect(targets.map(\.name) == ["first", "tenant-7", "tenant-8", "last"])
        #expect(targets[1].tags == ["eu", "gold"])
        #expect(targets[2].connection == .url("memory:t8"))
        #expect(resolved.discovery.map(\.targets) == [2])
        #expect(resolved.environment(named: "tenants")?.discover == [])
    }

    @Test func aTemplateFieldTheRowLacksIsAnInputErrorNamingTheLine() async throws {
        let (parsed, root) = try inventory(
            "#!/bin/sh\necho '{\"name\": \"a\", \"url\": \"memory:a\"}'\n",
            entry: "      - discover: { command: [\"./bin/tenants\"], name: \"tenant-{id}\" }")
        defer { try? FileManager.default.removeItem(at: root) }
        do {
            _ = try await TargetDiscovery(registry: BackendRegistry([MemoryBackend()]), logger: .silent).resolve(parsed)
            Issue.record("a row without the template's field was accepted")
        } catch {
            guard case .discovery(let problems) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(
                problems == [
                    "\(parsed.file):7:9: discover (command ./bin/tenants), line 1 of its output: name template 'tenant-{id}' uses {id}, which the row does not have (its fields: name, url)"
                ])
            #expect(error.category == .invalidInput)
        }
    }
}
