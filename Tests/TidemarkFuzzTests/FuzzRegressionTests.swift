import Foundation
import Testing
import TidemarkFuzz

/// Every input a fuzz target once crashed on (kept in Regressions/<target>/ by scripts/fuzz),
/// and the seed corpus, still keep the target's contract. Serialized: the targets write their
/// inputs into one scratch folder per process (`ScratchDirectory`, one input at a time), so two
/// tests running at once overwrote each other's files (seen as positions outside the input).
@Suite(.serialized) struct FuzzRegressionTests {
    /// The files in `folder/<target>/`, by target.
    static func inputs(in folder: URL) -> [(target: FuzzTarget, file: URL)] {
        FuzzTarget.allCases.flatMap { target in
            let directory = folder.appendingPathComponent(target.rawValue)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { (target, directory.appendingPathComponent($0)) }
        }
    }

    @Test func everyKeptCrashInputKeepsTheContract() throws {
        let folder = try #require(Bundle.module.resourceURL).appendingPathComponent("Regressions")
        for (target, file) in Self.inputs(in: folder) {
            let input = try [UInt8](Data(contentsOf: file))
            #expect(target.run(input) == nil, "\(target.rawValue)/\(file.lastPathComponent)")
        }
    }

    @Test func everySeedKeepsTheContract() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let seeds = Self.inputs(in: root.appendingPathComponent("Fuzz/Seeds"))
        #expect(seeds.count >= FuzzTarget.allCases.count)
        for (target, file) in seeds {
            let input = try [UInt8](Data(contentsOf: file))
            #expect(target.run(input) == nil, "\(target.rawValue)/\(file.lastPathComponent)")
        }
    }
}
