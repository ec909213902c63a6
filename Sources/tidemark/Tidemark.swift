import ArgumentParser

@main
struct Tidemark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tidemark",
        abstract: "Roll database schema changes forward and back across a fleet.",
        subcommands: []
    )
}
