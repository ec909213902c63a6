import Testing
import TidemarkCore
import TidemarkFleet

/// `--partition I/N` (docs/many-runners.md#static-partitions---partition-in): N slices that cover
/// every target exactly once, the same on every machine and in every release.
@Suite struct PartitionTests {
    let names = (1...1_000).map { "tenant-\($0)" } + (1...64).map { String(format: "shard-%03d", $0) }

    @Test(arguments: [1, 2, 3, 4, 7, 16])
    func slicesCoverEveryTargetExactlyOnce(count: Int) throws {
        let partitions = try (0..<count).map { try Partition(index: $0, count: count) }
        for name in names {
            #expect(
                partitions.filter { $0.contains(name) }.count == 1,
                "\(name) is in \(partitions.filter { $0.contains(name) })")
        }
        // Balanced enough that N runners share the work: each slice within 25% of the mean.
        let mean = Double(names.count) / Double(count)
        for partition in partitions {
            let size = Double(names.filter(partition.contains).count)
            #expect(abs(size - mean) <= mean * 0.25, "slice \(partition) holds \(size) of \(names.count) names")
        }
    }

    /// The slice is FNV-1a of the name modulo N: what a runner in another release computes too.
    @Test func theSliceIsTheStableHashOfTheName() throws {
        for name in ["prod-eu-1", "tenant-42", "", "ü"] {
            #expect(Partition.slice(of: name, count: 5) == Int(StableHash.fnv1a64(name) % 5))
        }
        #expect(try Partition(parsing: "2/5").contains("prod-eu-1") == (StableHash.fnv1a64("prod-eu-1") % 5 == 2))
    }

    @Test(arguments: [
        ("3/3", "I is 0-based: the slices of 3 are 0/3 to 2/3"), ("-1/3", "I is 0-based"),
        ("0/0", "N must be between 1 and 10000"),
        ("1", "write it as I/N"), ("a/b", "write it as I/N"), ("1/2/3", "write it as I/N"), ("/4", "write it as I/N"),
        ("0/10001", "N must be between 1"),
    ])
    func badPartitionsAreRefusedSayingTheForm(text: String, reason: String) {
        #expect {
            _ = try Partition(parsing: text)
        } throws: { error in
            guard let error = error as? FleetError, case .partition = error else { return false }
            return error.description.hasPrefix("--partition \(text): ") && error.description.contains(reason)
                && error.category == .invalidInput
        }
    }

    @Test func aSelectionKeepsOnlyItsSliceOfTheSelectedTargets() throws {
        let targets = (1...12).map {
            Target(name: "t-\($0)", environment: $0 <= 4 ? "dev" : "prod", connection: .url("memory:p-\($0)"))
        }
        let inventory = Inventory(
            name: "i", file: "i.yaml", planDirectory: "plans/p",
            environments: [
                Environment(name: "dev", tier: .dev, targets: Array(targets.prefix(4))),
                Environment(name: "prod", tier: .prod, targets: Array(targets.dropFirst(4))),
            ])
        var seen: [String] = []
        for index in 0..<3 {
            let selection = TargetSelection(environments: ["prod"], partition: try Partition(index: index, count: 3))
            let selected = try selection.select(from: inventory)
            #expect(selected.allSatisfy { $0.environment == "prod" && Partition.slice(of: $0.name, count: 3) == index })
            seen += selected.map(\.name)
        }
        #expect(seen.sorted() == targets.dropFirst(4).map(\.name).sorted())
    }
}
