import Foundation

/// An HTTP method; an open set, so a struct with static constants.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let get = HTTPMethod(rawValue: "GET")
    public static let post = HTTPMethod(rawValue: "POST")
    public static let put = HTTPMethod(rawValue: "PUT")
    public var description: String { rawValue }
}

/// One outgoing HTTP request. Header values may hold credentials: never log a request's headers.
public struct HTTPRequestMessage: Sendable {
    public var method: HTTPMethod
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: Data?
    /// Send on a new connection that is closed afterwards. libcurl re-sends a request by itself when a *reused*
    /// keep-alive connection dies before the first response byte ("Connection died, retrying a fresh connect"),
    /// POST included; on a fresh connection it never does. So every request that is not safe to repeat (a Lever
    /// note) sets this, and a lost answer surfaces as `TransportFailure.maybeSent` for the ledger to read back.
    public var freshConnection: Bool

    public init(
        method: HTTPMethod, url: String, headers: [(name: String, value: String)] = [], body: Data? = nil,
        freshConnection: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.freshConnection = freshConnection
    }
}

/// One HTTP response as received: status, headers (names lower-cased), body.
public struct HTTPResponseMessage: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Why a request got no HTTP answer. The distinction decides whether a non-idempotent write may be retried.
public enum TransportFailure: Error, Sendable, Equatable {
    /// Provably never reached the server (DNS, connect, TLS handshake): safe to send again.
    case notSent(code: Int, reason: String)
    /// May have reached the server and been applied (timeout or reset after sending): read back before resending.
    case maybeSent(code: Int, reason: String)
}

/// Settings of the HTTP transport that hold for every request.
public struct TransportOptions: Sendable {
    /// Connect timeout in milliseconds.
    public var connectTimeoutMs: Int = 10_000
    /// Total timeout per request in milliseconds.
    public var totalTimeoutMs: Int = 30_000
    /// A PEM file of CA certificates to trust instead of the system store. TLS verification itself is never off.
    public var caFile: String?
    /// How many requests may be in flight at once (one libcurl handle and thread each).
    public var maxConcurrent: Int = 8
    /// When tripped, transfers in flight are aborted and no new one starts (SIGTERM, SIGINT).
    public var abort: AbortSignal?
    public init() {}
}

/// The seam between the service clients and the wire. One real implementation (libcurl); tests use it too.
public protocol HTTPTransport: Sendable {
    /// Sends one request and returns the response, or throws `TransportFailure`.
    func send(_ request: HTTPRequestMessage) async throws -> HTTPResponseMessage
}
