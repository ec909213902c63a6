import Foundation

/// Peak and current resident memory from /proc/self/status (Linux); nil elsewhere.
func memoryKB(_ field: String) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
        return line.dropFirst(field.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap {
            Int($0)
        }
    }
    return nil
}

func megabytes(_ kilobytes: Int?) -> String {
    kilobytes.map { String(format: "%.1f MB", Double($0) / 1024) } ?? "n/a"
}

func seconds(_ duration: Duration) -> String {
    String(format: "%.3f s", duration.seconds)
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

func row(_ label: String, _ value: String) -> String {
    label.padding(toLength: 34, withPad: " ", startingAt: 0) + value
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
