import Foundation

/// The loopback listener of `authorize` (RFC 8252 §7.3): `http://127.0.0.1:<port>/<path>`, bound to 127.0.0.1
/// only, answering the browser's redirect with a short page. Runs its blocking socket calls on a thread of its own,
/// never on Swift's cooperative pool.
public final class LoopbackReceiver: @unchecked Sendable {
    private let fd: Int32
    /// The port it listens on.
    public let port: UInt16

    /// Binds 127.0.0.1:`port` (0: any free port) and listens.
    public init(port: UInt16) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PassAbort.configuration("authorize: cannot open a socket") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 8) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw PassAbort.configuration(
                "authorize: cannot listen on 127.0.0.1:\(port) for the redirect (\(reason)); free the port, change "
                    + "lever.oauth.redirectURI (and its registration with Lever), or use --manual")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = UInt16(bigEndian: actual.sin_port)
    }

    deinit { close(fd) }

    /// Waits for a GET of `path` and returns its request target (`/callback?code=…&state=…`); other paths (a
    /// browser's favicon) are answered 404. `answer` gives, for a target, the page shown in the browser and whether
    /// it ends the wait (a redirect with another authorization's `state` does not: it is refused, and the wait goes
    /// on for the right one). Nil when `timeoutSeconds` pass first.
    public func receive(
        path: String, timeoutSeconds: Int, answer: @escaping @Sendable (String) -> (page: String, final: Bool)
    ) async -> String? {
        await withCheckedContinuation { continuation in
            let thread = Thread { [self] in
                continuation.resume(
                    returning: self.accept(path: path, timeoutSeconds: timeoutSeconds, answer: answer))
            }
            thread.name = "lhs-authorize"
            thread.start()
        }
    }

    private func accept(path: String, timeoutSeconds: Int, answer: (String) -> (page: String, final: Bool))
        -> String?
    {
        let deadline = Date().addingTimeInterval(Double(timeoutSeconds))
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 250)
            if ready <= 0 { continue }
            let client = Glibc.accept(fd, nil, nil)
            if client < 0 { continue }
            defer { close(client) }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            guard let target = Self.readTarget(client) else { continue }
            let targetPath = String(target.prefix { $0 != "?" })
            if targetPath != path {
                Self.answer(client, status: "404 Not Found", body: "Not found.")
                continue
            }
            let (page, final) = answer(target)
            Self.answer(client, status: final ? "200 OK" : "400 Bad Request", body: page)
            if final { return target }
        }
        return nil
    }

    /// The target of a GET request line, from at most 16 KiB of request head.
    static func readTarget(_ client: Int32) -> String? {
        var head = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 2048)
        while head.count < 16_384 {
            let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            head += buffer[0..<n]
            if head.count >= 4 && head.suffix(4) == [13, 10, 13, 10] { break }
            if let text = String(bytes: head, encoding: .utf8), text.contains("\r\n\r\n") { break }
        }
        guard let text = String(bytes: head, encoding: .utf8), let line = text.split(separator: "\r\n").first
        else { return nil }
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0] == "GET" else { return nil }
        return String(parts[1])
    }

    static func answer(_ client: Int32, status: String, body: String) {
        let html =
            "<!doctype html><meta charset=utf-8><title>lever-hubert-sync</title><p>"
            + body.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            + "</p>\n"
        let bytes = Array(html.utf8)
        let response =
            "HTTP/1.1 \(status)\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: \(bytes.count)\r\n"
            + "Cache-Control: no-store\r\nConnection: close\r\n\r\n"
        _ = AtomicFile.writeAll(Array(response.utf8) + bytes, to: client)
    }
}
