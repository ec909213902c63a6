import TidemarkCore
import TidemarkFiles

/// The inventory parser: a value whose targets are unique, within the limits, in declared
/// environments; or errors in file order, each at a position inside the file.
enum InventoryFuzz {
    static func run(_ input: [UInt8]) -> ContractViolation? {
        func fail(_ message: String) -> ContractViolation { ContractViolation(.inventory, message) }
        let folder = ScratchDirectory.folder("inventories")
        let file = "\(folder)/fuzz.yaml"
        guard ScratchDirectory.write(input, to: file) else { return nil }
        let bounds = TextBounds(input)
        do {
            let inventory = try InventoryFile.load(at: file)
            let targets = inventory.environments.flatMap(\.targets)
            if targets.count > InventoryFile.targetLimit {
                return fail("\(targets.count) targets, more than the limit of \(InventoryFile.targetLimit)")
            }
            var names = Set<String>()
            for target in targets where !names.insert(target.name).inserted {
                return fail("target name '\(target.name)' appears twice")
            }
            // Names become paths and are printed: an accepted one is a TargetName, and no name holds a control character.
            if let bad = targets.first(where: { TargetName($0.name) == nil }) {
                return fail(
                    "target name '\(PrintableText.escaped(bad.name))' was accepted but breaks \(TargetName.rule)")
            }
            for name in [inventory.name] + inventory.environments.map(\.name)
            where PrintableText.firstControl(in: name) != nil {
                return fail("name '\(PrintableText.escaped(name))' with a control character was accepted")
            }
            if let empty = inventory.environments.first(where: \.targets.isEmpty) {
                return fail("environment '\(empty.name)' has no targets")
            }
            let declared = Set(inventory.environments.map(\.name))
            if let unknown = inventory.order.first(where: { !declared.contains($0) }) {
                return fail("order names '\(unknown)', which is not an environment")
            }
            return nil
        } catch {
            guard !error.errors.isEmpty else { return fail("InventoryProblems without errors") }
            var previous = (line: 0, column: 0)
            for problem in error.errors {
                let location = problem.location
                guard location.file == file else {
                    return fail("error names \(location.file), not \(file): \(problem)")
                }
                guard bounds.contains(line: location.line, column: location.column) else {
                    return fail("\(bounds.outside(line: location.line, column: location.column)): \(problem)")
                }
                guard !problem.message.isEmpty else { return fail("empty message at \(location)") }
                // One line whatever the file holds: the message is printed escaped.
                guard
                    problem.description
                        == "\(file):\(location.line):\(location.column): \(PrintableText.escaped(problem.message))"
                else {
                    return fail("error does not render as file:line:column: message: \(problem)")
                }
                guard PrintableText.firstControl(in: problem.description) == nil else {
                    return fail("error holds a control character: \(PrintableText.escaped(problem.description))")
                }
                guard (previous.line, previous.column) <= (location.line, location.column) else {
                    return fail("errors out of file order: \(problem) after line \(previous.line)")
                }
                previous = (location.line, location.column)
            }
            return nil
        }
    }
}
