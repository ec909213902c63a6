import ArgumentParser
import Foundation
import TidemarkCore
import TidemarkExecutor
import TidemarkFiles

extension Tidemark {
    /// `tidemark apply`: plan and execute, or execute a rollout saved by `plan --out`.
    struct ApplyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Bring the selected targets to the desired version: apply, roll back or roll forward.",
            discussion: """
                `tidemark apply -i INVENTORY` plans from the targets' live state and executes it. \
                `tidemark apply FILE` executes a rollout saved by `tidemark plan --out FILE`, and refuses \
                if any target's history changed since. Writing to a prod tier needs --yes when standard \
                input is not a terminal, and a typed confirmation when it is.
                """)

        @Argument(help: "A rollout saved by `tidemark plan --out FILE`.")
        var rolloutFile: String?
        @Option(name: [.customShort("i"), .customLong("inventory")], help: "The inventory file (inventories/NAME.yaml).")
        var inventory: String?
        @OptionGroup var selection: SelectionOptions
        @OptionGroup var planning: PlanningOptions
        @Flag(help: "Do not ask: confirm writing to prod targets (required when not on a terminal).")
        var yes = false
        @Flag(help: "Show what would run; change nothing.")
        var dryRun = false
        @Flag(help: "Do not back up prod targets before data-losing steps (only a restore undoes those steps).")
        var noBackup = false
        @Option(help: "Fleet-wide worker limit (overrides the inventory's concurrency).")
        var concurrency: Int?
        @Option(name: .customLong("report"), help: "Write the run report here instead of .tidemark/runs/<run-id>.json.")
        var reportPath: String?
        @Flag(help: "Print the run report as JSON (schema tidemark.report/v1).")
        var json = false
        @OptionGroup var logging: LoggingOptions

        func validate() throws {
            if rolloutFile == nil && inventory == nil {
                throw ValidationError("Say what to apply: -i INVENTORY, or a rollout FILE saved by `tidemark plan --out`.")
            }
            if rolloutFile != nil && (planning.desiredVersion != nil || planning.strategy != .auto || !selection.targets.isEmpty || !selection.environments.isEmpty) {
                throw ValidationError("A saved rollout already fixes targets, version and strategy; drop --to, --strategy, --env and --target.")
            }
            if let concurrency, concurrency < 1 { throw ValidationError("--concurrency must be at least 1.") }
        }

        func run() async throws {
            let logger = logging.makeLogger()
            let out = Terminal.standardOutput
            let startedAt = Date()

            // The saved rollout, if any, and the inventory the run is about: read once.
            let saved = try rolloutFile.map(Self.readRollout)
            guard let inventoryFile = inventory ?? saved?.inventoryFile else {
                throw CommandFailure(
                    .invalidInput, "\(rolloutFile ?? ""): the rollout does not say which inventory it was planned from; pass -i INVENTORY.")
            }

            // 0. One apply per inventory at a time on this machine, taken before any work (not for a dry run).
            let runID = makeRunID(now: startedAt)
            let appliedBy = currentOperator()
            var runLock: RunLock?
            if !dryRun {
                do {
                    runLock = try RunLock.acquire(inventoryFile: inventoryFile, runID: runID, appliedBy: appliedBy)
                } catch let held as RunLock.Held {
                    throw CommandFailure(.locked, held.description)
                } catch {
                    throw CommandFailure(.failed, "cannot take the run lock for \(inventoryFile): \(error.localizedDescription)")
                }
            }
            defer { withExtendedLifetime(runLock) {} }

            // 1. The rollout: fresh from live state, or saved and checked against live state.
            var rollout: Rollout
            let snapshot: FleetSnapshot
            if let rolloutFile, let saved {
                var savedSelection = selection
                savedSelection.targets = saved.targets.map(\.target)
                snapshot = try await FleetSnapshot.load(inventory: try InventoryOption.parse(["-i", inventoryFile]), selection: savedSelection, logger: logger)
                let changed = saved.targets.compactMap { planned -> String? in
                    guard let state = snapshot.states[planned.target] else { return "\(planned.target): unreachable" }
                    let found = PlannedFrom(state)
                    return found == planned.plannedFrom ? nil : ExecutionError.stateChanged(target: planned.target, planned: planned.plannedFrom, found: found).description
                }
                if !changed.isEmpty {
                    throw CommandFailure(.invalidInput, "\(rolloutFile): refusing to apply a stale rollout; nothing was run.\n" + changed.joined(separator: "\n"))
                }
                rollout = saved
            } else {
                snapshot = try await FleetSnapshot.load(inventory: try InventoryOption.parse(["-i", inventoryFile]), selection: selection, logger: logger)
                rollout = try snapshot.rollout(planning)
            }
            if !json { out.write(RolloutText.render(rollout, unreachable: snapshot.unreachable)) }

            let writes = rollout.targets.filter { [.forward, .rollback, .rollforward].contains($0.action) }
            if dryRun {
                if !json { out.write("\ndry run: nothing was changed (\(writes.count) target\(writes.count == 1 ? "" : "s") would be written).") }
                return
            }
            try confirmProductionWrites(writes, inventory: snapshot.inventory)

            // 2. Execute; signals stop it gently.
            let control = RunControl()
            let signals = SignalTrap(control: control)
            defer { signals.release() }
            var executor = RolloutExecutor(
                inventory: snapshot.inventory, plan: snapshot.plan, registry: Backends.standard, runID: runID, appliedBy: appliedBy,
                logger: logger, control: control, concurrency: concurrency)
            executor.backups = noBackup ? .disabled : BackupPolicy()
            if !json && !writes.isEmpty { out.write("") }
            let notifications = try await RunNotifications.start(
                inventory: snapshot.inventory, rollout: rollout, runID: runID, startedAt: startedAt, logger: logger)
            let progress = ProgressDisplay(quiet: json)
            progress.start()
            var outcomes = await executor.execute(
                rollout,
                onEvent: { event in
                    progress.handle(event)
                    notifications.handle(event)
                })
            progress.stop()
            for (name, error) in snapshot.unreachable.sorted(by: { $0.key < $1.key }) {
                let environment = snapshot.inventory.target(named: name)?.environment ?? ""
                outcomes.append(
                    TargetOutcome(target: name, environment: environment, action: .none, outcome: .failed, reason: "its state could not be read", fromVersion: nil, toVersion: nil, error: error.description))
            }

            // 3. Report.
            let report = RunReport(
                runID: runID, inventory: snapshot.inventory.name, plan: snapshot.plan.name, desiredVersion: rollout.desiredVersion?.text,
                strategy: rollout.strategy, appliedBy: appliedBy, dryRun: false, startedAt: startedAt, finishedAt: Date(),
                interrupted: control.isStopRequested, targets: outcomes)
            let reportURL = URL(fileURLWithPath: reportPath ?? ".tidemark/runs/\(runID).json")
            do {
                try report.write(to: reportURL)
            } catch {
                Terminal.standardError.write("warning: cannot write the run report to \(reportURL.path): \(error.localizedDescription)")
            }
            if json {
                out.write(try renderJSON(report))
            } else {
                out.write(report.summaryLine)
                for outcome in outcomes {
                    if let backup = outcome.backup { out.write("backup of \(outcome.target) before its data-losing steps: \(backup.path)") }
                }
                out.write("report: \(reportURL.path)")
            }
            // Bounded by the flush timeout; what is not delivered waits in the outbox, and never changes the exit code.
            await notifications.finish(outcomes)
            if control.isStopRequested { throw ExitStatus.interrupted.exitCode }
            throw Self.exitStatus(for: outcomes).exitCode
        }

        /// 1 if anything failed, else 4 if a lock was held, else 3 if anything is blocked, else 0.
        static func exitStatus(for outcomes: [TargetOutcome]) -> ExitStatus {
            let kinds = Set(outcomes.map(\.outcome))
            if kinds.contains(.failed) || kinds.contains(.interrupted) { return .failed }
            if kinds.contains(.locked) { return .locked }
            if kinds.contains(.blocked) { return .blocked }
            return .success
        }

        /// Prod writes need --yes off a terminal, or the inventory's name typed on one.
        private func confirmProductionWrites(_ writes: [TargetPlan], inventory: Inventory) throws {
            let prod = writes.filter { $0.tier == .prod }
            guard !prod.isEmpty, !yes else { return }
            let names = prod.map(\.target).joined(separator: ", ")
            guard isatty(STDIN_FILENO) == 1 else {
                throw CommandFailure(
                    .invalidInput,
                    "refusing to write to \(prod.count) prod target\(prod.count == 1 ? "" : "s") (\(names)) without confirmation: standard input is not a terminal, so pass --yes.")
            }
            Terminal.standardOutput.write("\nThis writes to \(prod.count) prod target\(prod.count == 1 ? "" : "s"): \(names).")
            Terminal.standardOutput.write("Type the inventory name (\(inventory.name)) to go on: ")
            guard let answer = readLine(), answer.trimmingCharacters(in: .whitespaces) == inventory.name else {
                throw CommandFailure(.invalidInput, "not confirmed; nothing was changed.")
            }
        }

        static func readRollout(_ path: String) throws -> Rollout {
            do {
                let decoder = JSONDecoder()
                let rollout = try decoder.decode(Rollout.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
                guard rollout.schema == "tidemark.rollout/v1" else {
                    throw CommandFailure(.invalidInput, "\(path): schema \(rollout.schema) is not tidemark.rollout/v1.")
                }
                return rollout
            } catch let failure as CommandFailure {
                throw failure
            } catch {
                throw CommandFailure(.invalidInput, "\(path): not a rollout saved by `tidemark plan --out`: \(error.localizedDescription)")
            }
        }
    }
}
