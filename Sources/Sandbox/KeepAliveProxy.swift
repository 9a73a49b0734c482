import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback HTTP/1.1 proxy in front of a sandbox that keeps client connections alive, as every real Lever and
/// Hubert host does, and can drop a connection at the worst moment: after the upstream has applied a request, before
/// (or in the middle of) its answer. The in-repo sandboxes close every connection, so without this proxy the client's
/// keep-alive paths — and libcurl's own silent re-send on a reused connection — are never exercised.
///
/// Each request is forwarded on a fresh upstream connection; the answer is passed back with `Connection: keep-alive`.
/// Threads, not the cooperative pool: the proxy blocks in `accept`/`read`.
public final class KeepAliveProxy: @unchecked Sendable {
    /// What the proxy does to one answer.
    public enum Drop: String, Sendable {
        /// The request is applied upstream, then the client connection is closed without one byte of the answer.
        case beforeResponse
        /// The status line, the headers and half the body are sent, then the connection is closed.
        case midResponse
    }

    /// One request the proxy saw.
    public struct Entry: Sendable, Equatable {
        /// Connection number (1-based, in accept order) and the request's index on it (1-based).
        public var connection: Int
        public var indexOnConnection: Int
        public var method: String
        /// The path without the query.
        public var path: String
        /// What the proxy did to the answer; nil when it was passed on whole.
        public var dropped: Drop?
    }

    /// Decides for each request whether its answer is dropped. Called on proxy threads.
    public typealias Rule = @Sendable (_ entry: Entry) -> Drop?

    private let upstreamPort: UInt16
    private let rule: Rule
    private let listener: Int32
    /// The port the proxy listens on (127.0.0.1).
    public let port: UInt16
    private let lock = NSLock()
    private var entries: [Entry] = []
    private var connections = 0
    private var open: Set<Int32> = []
    private var stopped = false

    /// Starts listening on 127.0.0.1 with a random port, forwarding to `127.0.0.1:upstreamPort`.
    public init(upstreamPort: UInt16, rule: @escaping Rule) throws {
        self.upstreamPort = upstreamPort
        self.rule = rule
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ProxyError.socket("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw ProxyError.socket("bind/listen")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.listener = fd
        self.port = UInt16(bigEndian: actual.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "keepalive-proxy-accept"
        thread.start()
    }

    deinit { stop() }

    /// `http://127.0.0.1:<port>`.
    public var origin: String { "http://127.0.0.1:\(port)" }

    /// Every request seen so far, in order.
    public var log: [Entry] { lock.withLock { entries } }

    /// Stops accepting and closes every open connection.
    public func stop() {
        let fds: [Int32] = lock.withLock {
            guard !stopped else { return [] }
            stopped = true
            return Array(open) + [listener]
        }
        for fd in fds {
            shutdown(fd, Int32(SHUT_RDWR))
            close(fd)
        }
    }

    enum ProxyError: Error { case socket(String) }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if lock.withLock({ stopped }) { return }
                if errno == EINTR { continue }
                return
            }
            var one: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let number: Int = lock.withLock {
                connections += 1
                open.insert(client)
                return connections
            }
            let thread = Thread { [self] in serve(client, connection: number) }
            thread.name = "keepalive-proxy-\(number)"
            thread.start()
        }
    }

    /// Serves requests on one client connection until either side closes it or an answer is dropped.
    private func serve(_ client: Int32, connection: Int) {
        defer {
            lock.withLock { _ = open.remove(client) }
            close(client)
        }
        var buffer = [UInt8]()
        var index = 0
        while let request = Self.readRequest(client, buffer: &buffer) {
            index += 1
            var entry = Entry(
                connection: connection, indexOnConnection: index, method: request.method,
                path: String(request.target.prefix { $0 != "?" }), dropped: nil)
            guard let answer = forward(request.raw) else { return }
            entry.dropped = rule(entry)
            lock.withLock { entries.append(entry) }
            switch entry.dropped {
            case .beforeResponse:
                return
            case .midResponse:
                let cut = answer.headerEnd + max(1, (answer.bytes.count - answer.headerEnd) / 2)
                Self.writeAll(client, Array(answer.bytes[0..<min(cut, answer.bytes.count)]))
                return
            case nil:
                guard Self.writeAll(client, answer.bytes) else { return }
            }
        }
    }

    struct Request {
        var method: String
        var target: String
        var raw: [UInt8]
    }

    /// Reads one request (head and `Content-Length` body) from the connection; nil at end of stream.
    static func readRequest(_ fd: Int32, buffer: inout [UInt8]) -> Request? {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            if let found = find(separator, in: buffer) {
                headEnd = found + 4
                break
            }
            guard readSome(fd, into: &buffer) else { return nil }
        }
        guard let headEnd else { return nil }
        let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var length = 0
        var rewritten = [String(requestLine.joined(separator: " "))]
        for line in lines where !line.isEmpty {
            let lower = line.lowercased()
            if lower.hasPrefix("content-length:") {
                length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
            }
            if lower.hasPrefix("connection:") { continue }
            rewritten.append(line)
        }
        rewritten.append("Connection: close")
        while buffer.count < headEnd + length {
            guard readSome(fd, into: &buffer) else { return nil }
        }
        let body = Array(buffer[headEnd..<(headEnd + length)])
        buffer.removeFirst(headEnd + length)
        let raw = Array((rewritten.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body
        return Request(method: String(requestLine[0]), target: String(requestLine[1]), raw: raw)
    }

    /// Sends the request upstream on a new connection and reads the whole answer (the upstream closes it).
    /// The answer's `Connection` header is rewritten to `keep-alive`.
    private func forward(_ raw: [UInt8]) -> (bytes: [UInt8], headerEnd: Int)? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = Self.loopback(port: upstreamPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0, Self.writeAll(fd, raw) else { return nil }
        var answer = [UInt8]()
        while Self.readSome(fd, into: &answer) {}
        guard let end = Self.find([13, 10, 13, 10], in: answer) else { return nil }
        let head = String(decoding: answer[0..<end], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n").filter { !$0.lowercased().hasPrefix("connection:") }
        let newHead = Array((lines.joined(separator: "\r\n") + "\r\nConnection: keep-alive\r\n\r\n").utf8)
        return (newHead + answer[(end + 4)...], newHead.count)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return start }
        }
        return nil
    }

    /// Reads what is available; false at end of stream or on error.
    static func readSome(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            if n < 0 && errno == EINTR { continue }
            return false
        }
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }
}
