import Foundation

/// Another integration on the same Lever key: it spends a steady share of the sandbox's per-key bucket (reads of
/// `/postings`, one every `1/rate` s), never retries, and counts the 429s it gets. Used by the tests and `lhs-bench`
/// to measure how good a neighbour the sync is.
public actor LeverNeighbour {
    private let lever: LeverSandbox
    private let rate: Double
    private let authorization: String
    private var task: Task<Void, Never>?
    /// Requests sent and how many of them were answered 429.
    public private(set) var sent = 0
    public private(set) var throttled = 0

    /// - Parameters: lever: the sandbox whose key it shares; apiKey: that key; rate: its requests per second.
    public init(lever: LeverSandbox, apiKey: String, rate: Double) {
        self.lever = lever
        self.rate = rate
        self.authorization = "Basic " + Data((apiKey + ":").utf8).base64EncodedString()
    }

    /// Starts sending; a tick that comes late (a loaded machine) is not caught up with a burst.
    public func start() {
        guard task == nil, rate > 0 else { return }
        let interval = Duration.milliseconds(Int64(1000 / rate))
        task = Task { [weak self] in
            let clock = ContinuousClock()
            var next = clock.now
            while !Task.isCancelled {
                try? await Task.sleep(until: next, clock: clock)
                guard let self, !Task.isCancelled else { return }
                await self.send()
                // Late ticks are not caught up in a burst on a loaded machine: the next one keeps the spacing.
                next = max(next + interval, clock.now)
            }
        }
    }

    private func send() async {
        let request = SandboxRequest(
            method: "GET", path: "/v1/postings", query: [("limit", "1")],
            headers: ["authorization": authorization], body: Data())
        let response = await lever.respond(request)
        sent += 1
        if response.status == 429 { throttled += 1 }
    }

    /// Forgets the counts (a new measurement starts).
    public func resetCounts() {
        sent = 0
        throttled = 0
    }

    /// Stops sending.
    public func stop() {
        task?.cancel()
        task = nil
    }

    /// The share of its requests answered 429 (0 when none were sent).
    public var throttledShare: Double { sent == 0 ? 0 : Double(throttled) / Double(sent) }
}
