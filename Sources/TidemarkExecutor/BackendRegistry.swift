import TidemarkCore

/// Chooses the backend for a target by its connection kind. Thread-safe value.
package struct BackendRegistry: Sendable {
    private let backends: [BackendKind: any Backend]

    package init(_ backends: [any Backend]) {
        var byKind: [BackendKind: any Backend] = [:]
        for backend in backends { byKind[backend.kind] = backend }
        self.backends = byKind
    }

    /// The backend for `target`, or an error naming the target and what is supported.
    package func backend(for target: Target) throws(BackendError) -> any Backend {
        guard let backend = backends[target.backendKind] else {
            let known = backends.keys.map(\.rawValue).sorted().joined(separator: ", ")
            throw .unsupported(
                target: target.name,
                message:
                    "no \(target.backendKind.rawValue) backend in this build (available: \(known)); use a postgres:// URL, a service, a mysql:// URL, or sqlite:PATH."
            )
        }
        return backend
    }
}
