import Foundation

/// What a request's count is kept by: the service and the class of its outcome.
public struct RequestCountKey: Sendable, Hashable, Comparable {
    public var service: Service
    /// `2xx`, `4xx`, `5xx`, `429` or `transport`.
    public var statusClass: String
    public init(_ service: Service, _ statusClass: String) {
        self.service = service
        self.statusClass = statusClass
    }
    public static func < (a: Self, b: Self) -> Bool {
        (a.service.rawValue, a.statusClass) < (b.service.rawValue, b.statusClass)
    }
}

/// Counts shared by every request of a run: retries left, requests sent by service and status class.
public actor RequestLedger {
    private var retriesLeft: Int
    private(set) var counts: [RequestCountKey: Int] = [:]
    /// Item-scoped requests of this run, by service: how many got an answer and how many got none.
    private var itemsAnswered: [Service: Int] = [:]
    private var itemsUnanswered: [Service: Int] = [:]

    /// The rule for "a service failing as a whole" from item requests: at least this many item requests of one
    /// service got no usable answer in the run, and they are more than half of that service's item requests.
    public static let failingServiceMinimum = 5

    /// Pass-scoped requests of this run that a service answered: a service that answers the lists every pass needs is
    /// up, and what fails on single items is those items' problem.
    private var passAnswered: [Service: Int] = [:]

    /// Set while a pass settles what earlier passes left (pending intents, due results): those items may be failing
    /// for days, so they never count toward "the service is failing as a whole".
    @TaskLocal public static var settling = false

    /// Records that an item request was answered (any status the service meant).
    func itemAnswered(_ service: Service) { itemsAnswered[service, default: 0] += 1 }

    /// Takes back one item request counted as answered: a 2xx whose body could not be read (each such attempt).
    func itemAnswerRetracted(_ service: Service) { itemsAnswered[service, default: 0] -= 1 }

    /// Records that a request every pass needs was answered.
    func passRequestAnswered(_ service: Service) { passAnswered[service, default: 0] += 1 }

    /// Records an item request without a usable answer; returns a reason when the service now counts as failing as
    /// a whole (`failingServiceMinimum` and a majority), nil while it is one item's problem.
    func itemUnanswered(_ service: Service) -> String? {
        guard !Self.settling else { return nil }
        itemsUnanswered[service, default: 0] += 1
        // The service answered a list every pass needs in this run: it is up; the items are failing, not it.
        guard passAnswered[service, default: 0] == 0 else { return nil }
        let failed = itemsUnanswered[service, default: 0]
        let total = failed + itemsAnswered[service, default: 0]
        guard failed >= Self.failingServiceMinimum, failed * 2 > total else { return nil }
        return "\(failed) of \(total) item requests got no usable answer in this pass"
    }

    /// When the pass must stop taking new work (`sync.passDeadlineMinutes`): a throttled request is not sent again
    /// after it (nil: no deadline).
    let deadline: ContinuousClock.Instant?
    let deadlineMinutes: Int

    public init(retryBudget: Int, deadlineMinutes: Int? = nil) {
        self.retriesLeft = retryBudget
        self.deadlineMinutes = deadlineMinutes ?? 0
        self.deadline = deadlineMinutes.map { .now + .seconds(60 * $0) }
    }

    /// Takes one retry from the run's budget; false when it is spent.
    func takeRetry() -> Bool {
        guard retriesLeft > 0 else { return false }
        retriesLeft -= 1
        return true
    }

    func record(_ service: Service, statusClass: String) {
        counts[RequestCountKey(service, statusClass), default: 0] += 1
    }

    /// Requests sent to a service (all outcomes).
    public func requests(_ service: Service) -> Int {
        counts.filter { $0.key.service == service }.values.reduce(0, +)
    }

    /// Counts by service and status class.
    public func snapshot() -> [RequestCountKey: Int] { counts }
}
