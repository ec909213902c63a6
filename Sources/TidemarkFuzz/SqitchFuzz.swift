import TidemarkCore
import TidemarkFiles

/// The `sqitch.plan` parser: a plan whose change ids are Sqitch's form (40 hex digits, unique),
/// whose tags name changes of the plan, whose reworked changes are reworked by a later change of
/// the same name across a tag; or errors at positions inside the input.
enum SqitchFuzz {
    static let file = "sqitch.plan"

    static func run(_ input: [UInt8]) -> ContractViolation? {
        func fail(_ message: String) -> ContractViolation { ContractViolation(.sqitch, message) }
        let text = String(decoding: input, as: UTF8.self)
        do {
            let plan = try SqitchPlanFile.parse(text, file: file)
            var ids = Set<String>()
            for change in plan.changes {
                guard change.id.count == 40, change.id.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                    return fail("change \(change.name) has id '\(change.id)', not 40 lowercase hex digits")
                }
                guard ids.insert(change.id).inserted else { return fail("change id \(change.id) appears twice") }
            }
            var tagNames = Set<String>()
            for tag in plan.tags {
                guard plan.changes.indices.contains(tag.change) else {
                    return fail("tag @\(tag.name) names change \(tag.change), not in the plan")
                }
                guard plan.changes[tag.change].tags.contains(tag.name) else {
                    return fail("tag @\(tag.name) is not among its change's tags")
                }
                guard tagNames.insert(tag.name).inserted else { return fail("tag @\(tag.name) appears twice") }
            }
            for (index, change) in plan.changes.enumerated() {
                let later = plan.changes[(index + 1)...].firstIndex { $0.name == change.name }
                if change.reworkTags.isEmpty != (later == nil) {
                    return fail(
                        "change \(change.name) at line \(change.line): rework tags \(change.reworkTags) but reworked later: \(later != nil)"
                    )
                }
                if let later, !plan.changes[index..<later].contains(where: { !$0.tags.isEmpty }) {
                    return fail("change \(change.name) at line \(change.line) is declared again with no tag between")
                }
            }
            return nil
        } catch {
            guard !error.errors.isEmpty else { return fail("PlanProblems without errors") }
            let bounds = TextBounds(input)
            for problem in error.errors {
                guard case .badPlanFile(let location, let message) = problem else {
                    return fail("not a position in the plan: \(problem)")
                }
                guard location.file == file else {
                    return fail("error names \(location.file), not \(file): \(problem)")
                }
                guard bounds.contains(line: location.line, column: location.column) else {
                    return fail("\(bounds.outside(line: location.line, column: location.column)): \(problem)")
                }
                guard !message.isEmpty else { return fail("empty message at \(location)") }
            }
            return nil
        }
    }
}
