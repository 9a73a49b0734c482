import FlyingFox
import Foundation
import LeverHubertSync

/// A request as a sandbox sees it: query values decoded once, header names lower-cased.
public struct SandboxRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [(name: String, value: String)]
    public var headers: [String: String]
    public var body: Data

    public init(
        method: String, path: String, query: [(name: String, value: String)], headers: [String: String], body: Data
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// Every value of a repeatable query key.
    public func values(_ name: String) -> [String] { query.filter { $0.name == name }.map(\.value) }
    /// The first value of a query key.
    public func value(_ name: String) -> String? { query.first { $0.name == name }?.value }
}

/// A sandbox's answer. `delayMs` holds the answer back (to simulate latency or a lost response).
public struct SandboxResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data
    public var delayMs: Int = 0

    public init(status: Int, headers: [String: String] = [:], body: Data = Data(), delayMs: Int = 0) {
        self.status = status
        self.headers = headers
        self.body = body
        self.delayMs = delayMs
    }

    /// A JSON answer from plain values (dictionaries, arrays, strings, numbers, NSNull).
    public static func json(_ status: Int, _ object: Any, headers: [String: String] = [:]) -> SandboxResponse {
        let data =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        var all = headers
        all["Content-Type"] = "application/json; charset=utf-8"
        return SandboxResponse(status: status, headers: all, body: data)
    }
}

/// A sandbox service: answers requests from its in-memory state.
public protocol SandboxService: Actor {
    func respond(_ request: SandboxRequest) async -> SandboxResponse
}

/// Serves a sandbox over HTTP on 127.0.0.1 with a random port. Loopback only, by construction.
public final class SandboxHTTPServer: Sendable {
    let server: HTTPServer
    let task: Task<Void, any Error>

    /// Starts serving `service` and waits until the socket listens.
    public init(service: any SandboxService) async throws {
        let server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: 0), timeout: 60, logger: .disabled)
        await server.appendRoute("*") { request in
            var headers: [String: String] = [:]
            for (name, value) in request.headers { headers[name.rawValue.lowercased()] = value }
            let incoming = SandboxRequest(
                method: request.method.rawValue, path: request.path,
                query: request.query.map { (name: $0.name, value: $0.value) }, headers: headers,
                body: (try? await request.bodyData) ?? Data())
            let answer = await service.respond(incoming)
            if answer.delayMs > 0 { try? await Task.sleep(for: .milliseconds(answer.delayMs)) }
            var responseHeaders = HTTPHeaders()
            for (name, value) in answer.headers { responseHeaders[HTTPHeader(name)] = value }
            // A new connection per request avoids the Nagle/delayed-ACK stall of a reused one (FlyingFox sets no TCP_NODELAY).
            responseHeaders[.connection] = "close"
            return HTTPResponse(
                statusCode: HTTPStatusCode(answer.status, phrase: "Status"), headers: responseHeaders, body: answer.body
            )
        }
        self.server = server
        self.task = Task { try await server.run() }
        try await server.waitUntilListening(timeout: 10)
    }

    /// The port the server listens on.
    public var port: UInt16 {
        get async {
            if case .ip4(_, let port) = await server.listeningAddress { return port }
            return 0
        }
    }

    /// `http://127.0.0.1:<port>`.
    public var origin: String { get async { "http://127.0.0.1:\(await port)" } }

    /// Stops serving.
    public func stop() async {
        await server.stop(timeout: 0)
        task.cancel()
    }
}

/// A token bucket for a sandbox's own rate limit: answers 429 when empty.
struct SandboxRateLimit: Sendable {
    var rate: Double
    var burst: Double
    var tokens: Double
    var last = Date()

    init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(burst)
        self.tokens = Double(burst)
    }

    /// Takes a token; nil when allowed, else the seconds until one is available.
    mutating func take() -> Double? {
        let now = Date()
        tokens = min(burst, tokens + now.timeIntervalSince(last) * rate)
        last = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return (1 - tokens) / rate
    }
}

/// Faults a sandbox can inject, to test exactly-once under trouble.
public struct SandboxFaults: Sendable {
    /// Share of requests answered 503 without doing anything (0…1).
    public var serverErrorRate: Double = 0
    /// Share of write requests that are applied and then answered too late for the client (a lost response).
    public var lostResponseRate: Double = 0
    /// How long a lost response is held back, in ms (longer than the client's timeout).
    public var lostResponseDelayMs: Int = 1_500
    /// Added latency per request, in ms.
    public var latencyMs: Int = 0
    /// Share of list responses whose body is malformed JSON.
    public var malformedRate: Double = 0
    /// Answer this many next requests with 429 (a storm).
    public var storm429: Int = 0
    /// Whether storm 429s carry Retry-After.
    public var stormRetryAfter: Bool = true
    /// The Retry-After value storm 429s carry (seconds, an HTTP date, or anything a broken server sends).
    public var stormRetryAfterValue = "1"
    /// Reject the next offset token / cursor presented as stale.
    public var staleTokens: Int = 0
    /// Answer this many next list pages with `hasNext: true` and no `next` token (a malformed page).
    public var truncatedPages: Int = 0
    /// Answer every opportunities list page with `hasNext: true` and one and the same `next` token (a list that
    /// never ends).
    public var repeatCursor = false
    public init() {}
}
