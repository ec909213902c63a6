import Foundation
import Synchronization
import Testing
import TidemarkCore
import TidemarkTestSupport

@testable import TidemarkNotify

#if canImport(Glibc)
    import Glibc
#endif

/// A real SMTP server (PyPI aiosmtpd) on 127.0.0.1, started as its own process for one test.
/// Thread-safe: the process handle is only read after `start`.
final class SMTPTestServer: Sendable {
    let port: Int
    let folder: URL
    private let process: Process
    private let input: Pipe

    private init(port: Int, host: String, folder: URL, process: Process, input: Pipe) {
        self.port = port
        self.host = host
        self.folder = folder
        self.process = process
        self.input = input
    }

    /// Starts the server (requiring `login` when given) and waits, on a thread of its own, for
    /// the port it prints.
    static func start(login: (user: String, password: String)? = nil, host: String = "127.0.0.1") async throws
        -> SMTPTestServer
    {
        let folder = try temporaryFolder("tidemark-smtp")
        let script = try #require(Bundle.module.url(forResource: "Fixtures/smtp_receiver.py", withExtension: nil))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, folder.path] + (login.map { [$0.user, $0.password] } ?? [])
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardInput = input
        var environment = ProcessInfo.processInfo.environment
        environment["TM_SMTP_HOST"] = host
        process.environment = environment
        try process.run()
        let line: String = await withCheckedContinuation { continuation in
            let thread = Thread {
                var data = Data()
                while !data.contains(UInt8(ascii: "\n")) {
                    let chunk = output.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    data.append(chunk)
                }
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
            thread.start()
        }
        let port = try #require(
            Int(line.trimmingCharacters(in: .whitespacesAndNewlines)), "smtp_receiver.py printed \(line)")
        return SMTPTestServer(port: port, host: host, folder: folder, process: process, input: input)
    }

    let host: String
    var url: String { "smtp://\(host):\(port)" }

    /// This machine's first IPv4 address that is not loopback, if it has one.
    static func nonLoopbackAddress() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        var entry: UnsafeMutablePointer<ifaddrs>? = first
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard let address = current.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else {
                continue
            }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ipv4 in
                var raw = ipv4.pointee.sin_addr
                _ = inet_ntop(AF_INET, &raw, &text, socklen_t(INET_ADDRSTRLEN))
            }
            let string = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !string.hasPrefix("127.") { return string }
        }
        return nil
    }

    /// Every message received so far, oldest first.
    var messages: [[String: Any]] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter {
            $0.hasSuffix(".json")
        }.sorted()
        return names.compactMap { name in
            (try? Data(contentsOf: folder.appendingPathComponent(name))).flatMap {
                (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any]
            }
        }
    }

    /// Waits (bounded) until `count` messages arrived.
    func waitForMessages(_ count: Int) async -> [[String: Any]] {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(30)
        while clock.now < deadline {
            let messages = self.messages
            if messages.count >= count { return messages }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return messages
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: folder)
    }
}

/// The email sink against a real SMTP server: the summary with failures first, AUTH, and a
/// refused login kept in the outbox.
@Suite struct EmailSinkTests {
    func sink(_ server: SMTPTestServer, login: Bool = false) -> NotifySink {
        NotifySink(
            name: "mail", kind: .email, serviceURL: server.url, from: "tidemark@example.test",
            to: ["oncall@example.test", "dba@example.test"],
            usernameEnv: login ? "TM_SMTP_USER" : nil, passwordEnv: login ? "TM_SMTP_PASSWORD" : nil)
    }

    func run(_ sinks: [NotifySink], state: URL, environment: [String: String] = [:], flush: Duration = .seconds(30))
        async -> DeliverySummary
    {
        let notifier = Notifier(
            sinks: sinks, inventory: "demo", inventoryFile: "inventories/demo.yaml",
            outbox: state.appendingPathComponent("outbox"),
            environment: environment, logger: LogCapture().logger,
            options: DeliveryOptions(
                requestTimeout: .seconds(5), flushTimeout: flush, initialBackoff: .milliseconds(50)))
        await notifier.start()
        notifier.post(SampleEvents.target(.targetSucceeded, "dev-1", environment: "dev"))
        notifier.post(
            SampleEvents.target(
                .targetFailed, "shard-2", environment: "prod",
                error: "shard-2: forward step of version 4 failed: line 1: boom"))
        notifier.post(
            Event(
                kind: .waveHalted, runID: SampleEvents.runID, inventory: "demo", environment: "prod",
                reason: "canary shard-2 of wave prod failed"))
        notifier.post(SampleEvents.finished([("dev", "succeeded"), ("prod", "failed"), ("prod", "skipped")]))
        return await notifier.finish()
    }

    @Test func runSummaryArrivesAsPlainTextWithFailuresFirst() async throws {
        let server = try await SMTPTestServer.start()
        defer { server.stop() }
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }
        let summary = await run([sink(server)], state: state)
        #expect(summary.delivered == 1, "\(summary)")
        let messages = await server.waitForMessages(1)
        try #require(messages.count == 1)
        let message = messages[0]
        #expect(message["mail_from"] as? String == "tidemark@example.test")
        #expect(message["rcpt_tos"] as? [String] == ["oncall@example.test", "dba@example.test"])
        #expect(message["login"] is NSNull)
        let data = try #require(message["data"] as? String)
        #expect(data.contains("Subject: [tidemark] demo: 1 of 3 targets failed\r\n"))
        #expect(data.contains("Content-Type: text/plain; charset=utf-8\r\n"))
        let headerEnd = try #require(data.range(of: "\r\n\r\n"))
        let body = String(data[headerEnd.upperBound...])
        let failed = try #require(body.range(of: "FAILED (1)"))
        let halted = try #require(body.range(of: "HALTED WAVES (1)"))
        let environments = try #require(body.range(of: "BY ENVIRONMENT"))
        #expect(
            failed.lowerBound < halted.lowerBound && halted.lowerBound < environments.lowerBound,
            "failures first:\n\(body)")
        #expect(body.contains("    shard-2: forward step of version 4 failed: line 1: boom\r\n"))
        #expect(body.contains("    inspect: tidemark history -i inventories/demo.yaml --target shard-2"))
    }

    @Test func loginOnLoopbackIsSentAndAcceptedWithoutTLS() async throws {
        let server = try await SMTPTestServer.start(login: ("tidemark", "mail-pass-0123"))
        defer { server.stop() }
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }
        let summary = await run(
            [sink(server, login: true)], state: state,
            environment: ["TM_SMTP_USER": "tidemark", "TM_SMTP_PASSWORD": "mail-pass-0123"])
        #expect(summary.delivered == 1, "\(summary)")
        let messages = await server.waitForMessages(1)
        #expect(messages.first?["login"] as? String == "tidemark")
        #expect(outboxFiles(state.appendingPathComponent("outbox")).isEmpty)
    }

    @Test func refusedLoginKeepsTheMessageInTheOutboxWithoutThePassword() async throws {
        let server = try await SMTPTestServer.start(login: ("tidemark", "the-right-one"))
        defer { server.stop() }
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }
        let summary = await run(
            [sink(server, login: true)], state: state,
            environment: ["TM_SMTP_USER": "tidemark", "TM_SMTP_PASSWORD": "a-wrong-password"],
            flush: .seconds(10))
        #expect(summary.delivered == 0 && summary.kept == 1, "\(summary)")
        #expect(server.messages.isEmpty)
        let files = outboxFiles(state.appendingPathComponent("outbox"))
        try #require(files.count == 1)
        let stored = try String(contentsOf: files[0], encoding: .utf8)
        #expect(stored.contains("refused the login"), "\(stored)")
        #expect(!stored.contains("a-wrong-password"))

        // The password is fixed: the next run sends the kept message first.
        let notifier = Notifier(
            sinks: [sink(server, login: true)], inventory: "demo", inventoryFile: nil,
            outbox: state.appendingPathComponent("outbox"),
            environment: ["TM_SMTP_USER": "tidemark", "TM_SMTP_PASSWORD": "the-right-one"], logger: LogCapture().logger,
            options: DeliveryOptions(flushTimeout: .seconds(30)))
        await notifier.start()
        let next = await notifier.finish()
        #expect(next.delivered == 1)
        #expect((await server.waitForMessages(1)).first?["login"] as? String == "tidemark")
        #expect(outboxFiles(state.appendingPathComponent("outbox")).isEmpty)
    }

    @Test func emailSinkWithoutItsPasswordVariableStopsTheRunNamingTheSink() throws {
        let inventory = Inventory(
            name: "demo", file: "inventories/demo.yaml", planDirectory: "plan", environments: [],
            notify: [
                NotifySink(
                    name: "mail", kind: .email, serviceURL: "smtp://127.0.0.1:1", from: "a@b.test", to: ["c@d.test"],
                    usernameEnv: "U", passwordEnv: "P")
            ])
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: NotifyError.missingKey(sink: "mail", kind: "email", field: "password_env", variable: "P")) {
            _ = try RunNotifications.makeNotifier(
                for: inventory, environment: ["U": "me"], outbox: folder, logger: LogCapture().logger)
        }
    }

    @Test func passwordIsNeverSentWithoutTLSToAServerOffThisMachine() async throws {
        let address = try #require(SMTPTestServer.nonLoopbackAddress(), "the machine needs a non-loopback IPv4 address")
        let server = try await SMTPTestServer.start(login: ("tidemark", "mail-pass-0123"), host: address)
        defer { server.stop() }
        let state = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: state) }
        let summary = await run(
            [sink(server, login: true)], state: state,
            environment: ["TM_SMTP_USER": "tidemark", "TM_SMTP_PASSWORD": "mail-pass-0123"],
            // Longer than the 5 s request timeout: the first attempt ends, and its reason is kept, on a loaded machine too.
            flush: .seconds(10))
        #expect(summary.delivered == 0 && summary.kept == 1, "the server offers no STARTTLS: \(summary)")
        #expect(server.messages.isEmpty)
        let stored = try String(
            contentsOf: try #require(outboxFiles(state.appendingPathComponent("outbox")).first), encoding: .utf8)
        #expect(stored.contains("does not offer STARTTLS"), "\(stored)")
    }

    @Test func passwordGoesOnlyOverTLSExceptToThisMachine() {
        #expect(
            SMTPMailer.isLoopback("127.0.0.1") && SMTPMailer.isLoopback("localhost") && SMTPMailer.isLoopback("[::1]"))
        #expect(!SMTPMailer.isLoopback("mail.example.com") && !SMTPMailer.isLoopback("10.0.0.1"))
    }

    @Test func noLineOfTheMessageIsLongerThanSMTPAllows() {
        let error = String(repeating: "relation \"accounts_ü\" does not exist; ", count: 100)
        let message = EmailMessage(
            from: "a@b.test", to: ["c@d.test"], subject: "s", text: "FAILED (1)\n    \(error)\nend", date: Date(),
            id: "x")
        let lines = String(decoding: message.data(event: "run.finished"), as: UTF8.self).components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 998 }, "\(lines.map(\.utf8.count))")
        #expect(
            lines.filter { $0.hasPrefix("  relation") || $0.hasPrefix("    relation") }.count > 1,
            "the long line is continued, not dropped")
        #expect(lines.last(where: { !$0.isEmpty }) == "end")
    }

    @Test func nonASCIISubjectIsEncodedAndHeadersCannotBeSplit() {
        #expect(EmailMessage.encodedHeader("[tidemark] shop: 3 targets") == "[tidemark] shop: 3 targets")
        #expect(EmailMessage.encodedHeader("Bestände") == "=?UTF-8?B?QmVzdMOkbmRl?=")
        #expect(EmailMessage.encodedHeader("a\r\nBcc: x@y") == "a  Bcc: x@y")
    }
}
