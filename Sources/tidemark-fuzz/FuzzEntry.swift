import Foundation
import TidemarkFuzz

/// Writes `line` to standard error.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

// Built by scripts/fuzz with `-sanitize=fuzzer -D FUZZING`: main hands over to libFuzzer, which
// calls `fuzzOneInput` for each input; the target comes from TIDEMARK_FUZZ_TARGET. A broken
// contract traps, which libFuzzer records as a crash with the input that caused it.
#if FUZZING
    import CFuzzerDriver

    /// The target this process fuzzes, set once before libFuzzer starts.
    nonisolated(unsafe) var fuzzTarget = FuzzTarget.inventory

    @main
    struct FuzzMain {
        static func main() {
            let name = ProcessInfo.processInfo.environment["TIDEMARK_FUZZ_TARGET"] ?? ""
            guard let target = FuzzTarget(rawValue: name) else {
                let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
                printError("tidemark-fuzz: set TIDEMARK_FUZZ_TARGET to one of \(known) (got '\(name)').")
                exit(2)
            }
            fuzzTarget = target
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
        }
    }

    /// One input from libFuzzer.
    func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        if let violation = fuzzTarget.run(input) { fatalError(violation.description) }
        return 0
    }
#else
    /// Without libFuzzer: `tidemark-fuzz TARGET FILE...` runs each file through the target once
    /// and says which break the contract (exit 1), to reproduce a crash in an ordinary build.
    @main
    struct FuzzReplay {
        static func main() {
            let arguments = CommandLine.arguments.dropFirst()
            guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
                let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
                printError("usage: tidemark-fuzz \(known) FILE...")
                exit(2)
            }
            var broken = 0
            for path in arguments.dropFirst() {
                guard let data = FileManager.default.contents(atPath: path) else {
                    printError("\(path): cannot read")
                    exit(2)
                }
                if let violation = target.run([UInt8](data)) {
                    print("\(path): \(violation)")
                    broken += 1
                } else {
                    print("\(path): ok")
                }
            }
            exit(broken == 0 ? 0 : 1)
        }
    }
#endif
