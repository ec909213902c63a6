import Foundation
import TidemarkCore

/// The run as an SVG timeline: a lane per wave, each target a bar from start to finish in its
/// outcome's colour, bars packed into as many rows as ran at once (so the lane's height shows
/// the concurrency). Pure; thread-safe (no state).
enum RunTimeline {
    static let width = 1000.0
    static let labelWidth = 150.0
    static let rowHeight = 6.0
    static let laneGap = 14.0

    static func svg(_ report: RunReport) -> String {
        let start = report.startedAt
        let total = max(report.finishedAt.timeIntervalSince(start), 0.001)
        let scale = (width - labelWidth - 10) / total
        var environments: [String] = []
        var timed: [String: [(outcome: TargetOutcome, from: Double, to: Double)]] = [:]
        for outcome in report.targets {
            if !environments.contains(outcome.environment) { environments.append(outcome.environment) }
            guard let began = outcome.startedAt, let ended = outcome.finishedAt else { continue }
            timed[outcome.environment, default: []].append(
                (
                    outcome, began.timeIntervalSince(start),
                    max(ended.timeIntervalSince(start), began.timeIntervalSince(start))
                ))
        }
        var shapes: [String] = []
        var y = 22.0
        for environment in environments {
            let bars = (timed[environment] ?? []).sorted { $0.from < $1.from }
            // Greedy packing: each bar goes in the first row free at its start.
            var rowEnds: [Double] = []
            var placed: [(bar: (outcome: TargetOutcome, from: Double, to: Double), row: Int)] = []
            for bar in bars {
                if let row = rowEnds.firstIndex(where: { $0 <= bar.from }) {
                    rowEnds[row] = bar.to
                    placed.append((bar, row))
                } else {
                    rowEnds.append(bar.to)
                    placed.append((bar, rowEnds.count - 1))
                }
            }
            let laneHeight = max(Double(rowEnds.count), 1) * rowHeight
            shapes.append(
                "<text x=\"0\" y=\"\(f(y + min(laneHeight, 12) - 2))\">\(HTMLPage.escape(environment))</text>")
            if bars.isEmpty {
                shapes.append("<text x=\"\(f(labelWidth))\" y=\"\(f(y + 9))\">nothing ran</text>")
            }
            for (bar, row) in placed {
                let x = labelWidth + bar.from * scale
                let barWidth = max((bar.to - bar.from) * scale, 1.5)
                shapes.append(
                    "<rect x=\"\(f(x))\" y=\"\(f(y + Double(row) * rowHeight))\" width=\"\(f(barWidth))\" height=\"\(f(rowHeight - 1))\" fill=\"\(HTMLPage.colour(bar.outcome.outcome))\"><title>\(HTMLPage.escape(RunPage.title(bar.outcome)))</title></rect>"
                )
            }
            y += max(laneHeight, 12) + laneGap
        }
        // Before the first target started, the run read every target's state and planned.
        if let first = report.targets.compactMap(\.startedAt).min(), first.timeIntervalSince(start) * scale > 40 {
            let width = first.timeIntervalSince(start) * scale
            shapes.insert(
                "<rect x=\"\(f(labelWidth))\" y=\"16\" width=\"\(f(width))\" height=\"\(f(y - laneGap - 14))\" fill=\"#f2f4f7\"/>"
                    + "<text x=\"\(f(labelWidth + width / 2))\" y=\"\(f(min(y - laneGap, 30)))\" text-anchor=\"middle\">reading and planning</text>",
                at: 0)
        }
        // Five ticks along the top: 0, a quarter, half, three quarters, the end.
        var axis: [String] = []
        for tick in 0...4 {
            let seconds = total * Double(tick) / 4
            let x = labelWidth + seconds * scale
            axis.append(
                "<line x1=\"\(f(x))\" y1=\"14\" x2=\"\(f(x))\" y2=\"\(f(y - laneGap + 2))\" stroke=\"#e4e7ec\"/>")
            axis.append(
                "<text x=\"\(f(x))\" y=\"10\" text-anchor=\"\(tick == 4 ? "end" : tick == 0 ? "start" : "middle")\">\(HTMLPage.duration(seconds))</text>"
            )
        }
        let height = y - laneGap + 6
        return
            "<svg role=\"img\" aria-label=\"timeline\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\">"
            + (axis + shapes).joined() + "</svg>\n"
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
