import Foundation
import Logging

/// The external systems this tool talks to.
public enum Service: String, Sendable, Codable, CaseIterable {
    case lever, hubert
}

/// A service answered with an error status that concerns one item (400, 404, 409, 422 …): not retried. Or, with
/// `noAnswer`, a request about one item got no usable answer (a 5xx, a timeout or an unreadable body after every
/// attempt): that item's problem, never an answer about it; the item is tried again on a later pass.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var service: Service
    /// The last HTTP status (0 when no response came back at all).
    public var status: Int
    public var code: String?
    public var message: String?
    /// No usable answer came back (see above): nothing may be concluded from it.
    public var noAnswer = false
    public var description: String {
        if noAnswer { return "\(service.rawValue) gave no usable answer: \(message ?? code ?? "HTTP \(status)")" }
        return "\(service.rawValue) answered \(status)\(code.map { " \($0)" } ?? "")\(message.map { ": \($0)" } ?? "")"
    }

    /// An item-scoped request that got no usable answer.
    static func noAnswer(_ service: Service, status: Int, code: String, _ message: String) -> APIError {
        APIError(service: service, status: status, code: code, message: message, noAnswer: true)
    }
}

/// A non-idempotent request may have been applied although no answer came back: read back before resending.
public struct MaybeAppliedError: Error, Sendable, CustomStringConvertible {
    public var service: Service
    public var reason: String
    public var description: String { "\(service.rawValue): outcome unknown (\(reason))" }
}

/// What a refusal of a request means: the credential itself, or one item.
public enum RequestScope: Sendable {
    /// A call every pass needs (listing postings, opportunities, interviews; stages; users): a 403 means the key
    /// lacks a permission the whole pass needs, so the pass stops with exit 77.
    case pass
    /// A call about one item (one template, one opportunity, one write): a 403 is that item's problem, thrown as an
    /// `APIError` with status 403 for the caller to report; the rest of the pass goes on. A 401 is still exit 77.
    case item
}

/// Retry settings of one run.
public struct RetryPolicy: Sendable, Codable, Equatable {
    /// Attempts per request, the first included.
    public var maxAttempts: Int = 5
    /// The first backoff ceiling; each attempt doubles it (full jitter below the ceiling).
    public var baseDelayMs: Int = 500
    /// The highest backoff ceiling.
    public var maxDelayMs: Int = 30_000
    /// Retries allowed in one run, across all requests; when spent the pass stops with exit 75. A throttled request
    /// (429) takes nothing from it: the service's rate is lowered instead.
    public var budget: Int = 200
    /// How long a service may throttle every request (429 and nothing served) before the pass stops with exit 75
    /// (`sync.unservedTimeoutSeconds`).
    public var unservedTimeoutSeconds: Int = 120
    public init() {}
}

/// Sends requests to one service: authentication, the client-side rate budget, retries with exponential backoff
/// and full jitter (Retry-After as a floor), and classification of failures.
public struct ServiceClient: Sendable {
    public let service: Service
    let transport: any HTTPTransport
    let bucket: TokenBucket
    let policy: RetryPolicy
    let ledger: RequestLedger
    let authorization: @Sendable () async throws -> String
    /// Called once on a 401 with the `Authorization` value the request was sent with; true means the credential was
    /// renewed (OAuth) and the request is tried again.
    let onUnauthorized: (@Sendable (String) async -> Bool)?
    let logger: Logger

    public init(
        service: Service, transport: any HTTPTransport, bucket: TokenBucket, policy: RetryPolicy,
        ledger: RequestLedger, logger: Logger, authorization: @escaping @Sendable () async throws -> String,
        onUnauthorized: (@Sendable (String) async -> Bool)? = nil
    ) {
        self.onUnauthorized = onUnauthorized
        self.service = service
        self.transport = transport
        self.bucket = bucket
        self.policy = policy
        self.ledger = ledger
        self.logger = logger
        self.authorization = authorization
    }

    /// Sends the request and returns a 2xx response. Throws `APIError` for item-level errors, `PassAbort` for
    /// refused credentials or exhausted retries, `MaybeAppliedError` for non-idempotent requests of unknown outcome.
    public func send(_ request: HTTPRequestMessage, mode: RetryMode, scope: RequestScope = .pass) async throws
        -> HTTPResponseMessage
    {
        var attempt = 0
        var renewed = false
        var lastStatus = 0
        var throttled = false
        while true {
            try Task.checkCancellation()
            // A throttled try is no attempt: it lowered the service's rate, and the request waits its turn again.
            if !throttled { attempt += 1 }
            throttled = false
            let ticket = await bucket.acquire()
            var message = request
            if mode == .nonIdempotent { message.freshConnection = true }
            message.headers.append((name: "User-Agent", value: ToolVersion.userAgent))
            let credential = try await authorization()
            message.headers.append((name: "Authorization", value: credential))
            message.headers.append((name: "Accept", value: "application/json"))
            if request.body != nil { message.headers.append((name: "Content-Type", value: "application/json")) }
            let retryAfter: Duration?
            let reason: String
            do {
                let response = try await transport.send(message)
                let status = response.status
                await ledger.record(service, statusClass: status == 429 ? "429" : "\(status / 100)xx")
                let wait = Self.retryAfter(response.header("retry-after"))
                if status == 429 || (status == 503 && wait != nil) {
                    if let wait, wait > Self.longestRetryAfter {
                        // Waiting that long belongs to the next cron tick, not to this pass.
                        throw PassAbort.unavailable(
                            service: service,
                            reason: "HTTP \(status) with Retry-After beyond "
                                + "\(Self.longestRetryAfter.components.seconds) s")
                    }
                    if let wait { await bucket.hold(until: .now + wait) }
                    let (lowered, unserved) = await bucket.throttled(ticket)
                    if status == 429 {
                        try await throttledAgain(unserved: unserved, lowered: lowered, scope: scope)
                        throttled = true
                        continue
                    }
                } else if status < 500 {
                    await bucket.served()
                }
                if (200..<300).contains(status) {
                    if scope == .item {
                        await ledger.itemAnswered(service)
                    } else {
                        await ledger.passRequestAnswered(service)
                    }
                    return response
                }
                if status == 401, !renewed, let onUnauthorized, await onUnauthorized(credential) {
                    renewed = true
                    continue
                }
                if status == 403 && scope == .item {
                    await ledger.itemAnswered(service)
                    throw Self.apiError(service: service, response: response)
                }
                if status == 401 || status == 403 {
                    throw PassAbort.credentialsRefused(service: service, status: status)
                }
                let retryable = status == 429 || status == 408 || (500...599).contains(status)
                if !retryable {
                    if scope == .item { await ledger.itemAnswered(service) }
                    throw Self.apiError(service: service, response: response)
                }
                if mode == .nonIdempotent {
                    throw MaybeAppliedError(service: service, reason: "HTTP \(status)")
                }
                retryAfter = wait
                reason = "HTTP \(status)"
                lastStatus = status
            } catch let failure as TransportFailure {
                await ledger.record(service, statusClass: "transport")
                switch failure {
                case .notSent(_, let why):
                    reason = why
                case .maybeSent(_, let why):
                    if mode == .nonIdempotent { throw MaybeAppliedError(service: service, reason: why) }
                    reason = why
                }
                retryAfter = nil
            }
            // An item an earlier pass left failing gets two attempts, not the full count: a pass that settles a
            // dozen of them stays within its deadline.
            let attempts = scope == .item && RequestLedger.settling ? min(2, policy.maxAttempts) : policy.maxAttempts
            guard attempt < attempts else {
                guard scope == .item else {
                    throw PassAbort.unavailable(service: service, reason: "\(reason) after \(attempt) attempts")
                }
                // One item's request: its problem, unless most item requests of this service fail in this pass.
                if let whole = await ledger.itemUnanswered(service) {
                    throw PassAbort.unavailable(service: service, reason: whole)
                }
                throw APIError.noAnswer(
                    service, status: lastStatus, code: "unavailable", "\(reason) after \(attempt) attempts")
            }
            guard await ledger.takeRetry() else {
                guard scope == .item else {
                    throw PassAbort.unavailable(service: service, reason: "\(reason); the run's retry budget is spent")
                }
                // The budget spent on items is no reason to stop the pass: this item is tried again next pass.
                throw APIError.noAnswer(
                    service, status: lastStatus, code: "unavailable", "\(reason); the run's retry budget is spent")
            }
            let delay = Self.backoff(attempt: attempt, policy: policy, floor: retryAfter)
            logger.info(
                "retrying request",
                metadata: [
                    "service": "\(service.rawValue)", "reason": "\(reason)", "attempt": "\(attempt)",
                    "delay_ms":
                        "\(delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000)",
                ])
            try await Task.sleep(for: delay)
        }
    }

    /// After a 429: the request waits its turn again at the lowered rate (its Retry-After holding the bucket), for as
    /// long as the service serves anything, up to the pass's deadline. Throws when nothing has been served for
    /// `unservedTimeoutSeconds`, or at the deadline (exit 75 either way; no checkpoint moves past unfinished work).
    private func throttledAgain(unserved: Duration, lowered: Bool, scope: RequestScope) async throws {
        if unserved >= .seconds(policy.unservedTimeoutSeconds) {
            throw PassAbort.unavailable(
                service: service,
                reason: "HTTP 429 to every request for \(unserved.components.seconds) s: nothing served "
                    + "(sync.unservedTimeoutSeconds: \(policy.unservedTimeoutSeconds))")
        }
        if let deadline = ledger.deadline, ContinuousClock.now >= deadline {
            // One item past the deadline is tried next pass; the pass itself stops at its own deadline check.
            if scope == .item {
                throw APIError.noAnswer(service, status: 429, code: "deadline", "throttled past the pass deadline")
            }
            throw PassAbort.deadline(minutes: ledger.deadlineMinutes)
        }
        if lowered {
            let rate = await bucket.state?.rate ?? 0
            logger.debug(
                "throttled: request rate lowered",
                metadata: [
                    "service": "\(service.rawValue)",
                    "rate": "\(String(format: "%.2f", rate))",
                ])
        }
    }

    /// Exponential backoff with full jitter; a server's Retry-After is a floor.
    static func backoff(attempt: Int, policy: RetryPolicy, floor: Duration?) -> Duration {
        let ceiling = min(Double(policy.maxDelayMs), Double(policy.baseDelayMs) * pow(2, Double(attempt - 1)))
        let jittered = Duration.milliseconds(Int(Double.random(in: 0...max(1, ceiling))))
        guard let floor else { return jittered }
        return max(floor, jittered)
    }

    /// The longest Retry-After a pass waits out; a longer one stops the pass with exit 75.
    static let longestRetryAfter = Duration.seconds(300)

    /// Parses Retry-After (delta seconds or an HTTP date) into a wait that never traps: negative, `nan` and dates
    /// in the past give zero, `inf` and huge values are capped just above `longestRetryAfter`; nil when unreadable.
    static func retryAfter(_ value: String?, now: Date = Date()) -> Duration? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        func clamped(_ seconds: Double) -> Duration {
            guard seconds.isFinite, seconds > 0 else { return seconds == .infinity ? longestRetryAfter * 2 : .zero }
            let cap = Double(longestRetryAfter.components.seconds) * 2
            return .milliseconds(Int64((min(seconds, cap) * 1000).rounded(.up)))
        }
        if let seconds = Double(value) { return seconds.isNaN ? nil : clamped(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: value) { return clamped(date.timeIntervalSince(now)) }
        }
        return nil
    }

    static func apiError(service: Service, response: HTTPResponseMessage) -> APIError {
        struct LeverBody: Decodable {
            var code: String?
            var message: String?
        }
        struct HubertBody: Decodable { var error: LeverBody? }
        let decoder = JSONDecoder()
        if let hubert = try? decoder.decode(HubertBody.self, from: response.body), let error = hubert.error {
            return APIError(service: service, status: response.status, code: error.code, message: error.message)
        }
        if let lever = try? decoder.decode(LeverBody.self, from: response.body) {
            return APIError(service: service, status: response.status, code: lever.code, message: lever.message)
        }
        return APIError(service: service, status: response.status, code: nil, message: nil)
    }
}
