import Foundation
import Testing
import TidemarkTestSupport

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The "receiver down" port the delivery tests rely on: refused while held, and nobody else's.
@Suite struct ClosedPortTests {
    @Test func aHeldPortRefusesConnectionsAndCannotBeTakenUntilReopened() async throws {
        let closed = try HTTPTestReceiver.ClosedPort()
        var request = URLRequest(url: try #require(URL(string: closed.url())))
        request.httpMethod = "POST"
        request.timeoutInterval = 5
        await #expect(throws: (any Error).self, "nothing listens on a held port") {
            _ = try await URLSession.shared.data(for: request)
        }
        #expect(throws: (any Error).self, "another socket cannot bind the held port") {
            _ = try HTTPTestReceiver(port: closed.port)
        }

        let receiver = try HTTPTestReceiver(reopening: closed)
        defer { receiver.stop() }
        let (_, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(receiver.requests.count == 1 && receiver.port == closed.port)
        #expect(throws: (any Error).self, "a port is reopened once") { _ = try HTTPTestReceiver(reopening: closed) }
    }
}
