import Foundation

/// Headless Chromium (Debian `chromium`, installed by scripts/install-deps) loading a page
/// from a file, with every HTTP request routed to a recording proxy on 127.0.0.1: what the
/// page logged on its console and what it asked of the network. Thread-safe (no state).
package enum HeadlessChromium {
    /// What one load showed. Thread-safe value.
    package struct Load: Sendable {
        /// The DOM after scripts ran (`--dump-dom`); empty for a screenshot.
        package var dom: String
        /// Lines Chromium logged for the page's console (messages, errors, refused requests).
        package var console: [String]
        /// What the page asked of the network (the proxy saw it).
        package var requests: [HTTPTestReceiver.Request]
    }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// Loads `page`; with `screenshot`, saves a PNG of a 1400×`height` window there instead of
    /// dumping the DOM.
    package static func load(_ page: URL, screenshot: URL? = nil, height: Int = 2200) async throws -> Load {
        guard ExternalTool.exists("chromium") else {
            throw Failure(description: "chromium is missing: scripts/install-deps --peers installs it")
        }
        let proxy = try HTTPTestReceiver()
        defer { proxy.stop() }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tidemark-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        var arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-domain-reliability",
            "--user-data-dir=\(profile.path)", "--proxy-server=http://127.0.0.1:\(proxy.port)",
            "--proxy-bypass-list=<-loopback>",
            "--enable-logging=stderr", "--v=0", "--hide-scrollbars",
        ]
        if let screenshot {
            arguments += ["--window-size=1400,\(height)", "--screenshot=\(screenshot.path)"]
        } else {
            arguments.append("--dump-dom")
        }
        let result = try await ExternalTool.run("chromium", arguments + [page.absoluteString])
        guard result.status == 0 else { throw Failure(description: "chromium failed:\n\(result)") }
        let console = result.standardError.split(separator: "\n").map(String.init).filter { $0.contains(":CONSOLE") }
        return Load(
            dom: result.standardOutput, console: console, requests: proxy.requests.filter { !isBrowserService($0) })
    }

    /// Chromium's own background traffic (network time, component updates, sign-in), which
    /// Debian's build sends despite the flags above: not the page's doing. Anything else is.
    static func isBrowserService(_ request: HTTPTestReceiver.Request) -> Bool {
        let host = (request.header("host") ?? "").split(separator: ":").first.map(String.init) ?? ""
        return ["google.com", "googleapis.com", "gstatic.com", "gvt1.com"].contains {
            host == $0 || host.hasSuffix("." + $0)
        }
    }

    /// Where tests leave what a person may want to look at (screenshots): `.build/test-artifacts`
    /// in the repository, or `TIDEMARK_TEST_ARTIFACTS`.
    package static var artifacts: URL {
        let url =
            ProcessInfo.processInfo.environment["TIDEMARK_TEST_ARTIFACTS"].map { URL(fileURLWithPath: $0) }
            ?? CommandRunner.repositoryRoot.appendingPathComponent(".build/test-artifacts")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
