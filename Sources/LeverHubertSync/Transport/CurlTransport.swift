import CCurl
import Foundation

/// HTTP over libcurl. Each worker owns one easy handle (so connections are reused) and its own thread, so a
/// blocking `curl_easy_perform` never occupies Swift's cooperative pool; callers are resumed by continuations.
public final class CurlTransport: HTTPTransport, @unchecked Sendable {
    struct Job {
        let request: HTTPRequestMessage
        let continuation: CheckedContinuation<HTTPResponseMessage, any Error>
    }

    /// The jobs and the worker threads' bookkeeping. Workers hold it (not the transport), so when the transport
    /// goes away its workers finish what is queued and exit.
    final class WorkQueue: @unchecked Sendable {
        let condition = NSCondition()
        var jobs: [Job] = []
        var idleWorkers = 0
        var workerCount = 0
        var shuttingDown = false

        /// The next job, or nil once shut down and drained.
        func next() -> Job? {
            condition.lock()
            defer { condition.unlock() }
            while jobs.isEmpty && !shuttingDown {
                idleWorkers += 1
                condition.wait()
                idleWorkers -= 1
            }
            if jobs.isEmpty {
                workerCount -= 1
                return nil
            }
            return jobs.removeFirst()
        }
    }

    private let options: TransportOptions
    private let work = WorkQueue()

    private static let globalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    public init(options: TransportOptions = TransportOptions()) {
        _ = Self.globalInit
        self.options = options
    }

    deinit {
        work.condition.lock()
        work.shuttingDown = true
        work.condition.broadcast()
        work.condition.unlock()
    }

    public func send(_ request: HTTPRequestMessage) async throws -> HTTPResponseMessage {
        try await withCheckedThrowingContinuation { continuation in
            let work = self.work
            let options = self.options
            work.condition.lock()
            work.jobs.append(Job(request: request, continuation: continuation))
            if work.idleWorkers == 0 && work.workerCount < max(1, options.maxConcurrent) {
                work.workerCount += 1
                let thread = Thread { Self.workerLoop(work, options) }
                thread.name = "lhs-curl-\(work.workerCount)"
                thread.start()
            }
            work.condition.signal()
            work.condition.unlock()
        }
    }

    /// One worker: one easy handle (so its connection is reused), jobs until the queue shuts down.
    private static func workerLoop(_ work: WorkQueue, _ options: TransportOptions) {
        guard let handle = curl_easy_init() else {
            while let job = work.next() {
                job.continuation.resume(throwing: TransportFailure.notSent(code: -1, reason: "curl_easy_init failed"))
            }
            return
        }
        defer { curl_easy_cleanup(handle) }
        while let job = work.next() {
            job.continuation.resume(with: perform(handle: handle, request: job.request, options: options))
        }
    }

    /// Accumulates one response's body and header lines; passed to libcurl's callbacks as an opaque pointer.
    private final class Sink {
        var body = Data()
        var headerLines: [String] = []
    }

    private static let writeCallback: curl_write_callback = { ptr, size, count, userdata in
        let n = size * count
        guard let ptr, let userdata else { return n }
        let sink = Unmanaged<Sink>.fromOpaque(userdata).takeUnretainedValue()
        ptr.withMemoryRebound(to: UInt8.self, capacity: n) { sink.body.append($0, count: n) }
        return n
    }

    private static let headerCallback: curl_write_callback = { ptr, size, count, userdata in
        let n = size * count
        guard let ptr, let userdata else { return n }
        let sink = Unmanaged<Sink>.fromOpaque(userdata).takeUnretainedValue()
        var bytes = ptr.withMemoryRebound(to: UInt8.self, capacity: n) {
            Array(UnsafeBufferPointer(start: $0, count: n))
        }
        while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
        if let line = String(bytes: bytes, encoding: .utf8) ?? String(bytes: bytes, encoding: .isoLatin1) {
            // A new status line starts a new header block (e.g. after "100 Continue").
            if line.hasPrefix("HTTP/") { sink.headerLines.removeAll() }
            sink.headerLines.append(line)
        }
        return n
    }

    /// Asks libcurl to abort the transfer once the pass's abort signal is tripped (called about once a second or
    /// more often while a transfer runs).
    private static let progressCallback: lhs_xferinfo_callback = { clientp, _, _, _, _ in
        guard let clientp else { return 0 }
        return Unmanaged<AbortSignal>.fromOpaque(clientp).takeUnretainedValue().isTripped ? 1 : 0
    }

    /// Error codes raised before any byte of the request can have reached the server.
    private static let connectPhaseCodes: Set<UInt32> = [
        CURLE_UNSUPPORTED_PROTOCOL.rawValue, CURLE_URL_MALFORMAT.rawValue, CURLE_COULDNT_RESOLVE_PROXY.rawValue,
        CURLE_COULDNT_RESOLVE_HOST.rawValue, CURLE_COULDNT_CONNECT.rawValue, CURLE_SSL_CONNECT_ERROR.rawValue,
        CURLE_PEER_FAILED_VERIFICATION.rawValue, CURLE_SSL_CACERT_BADFILE.rawValue, CURLE_SSL_CERTPROBLEM.rawValue,
    ]

    private static func perform(handle: UnsafeMutableRawPointer, request: HTTPRequestMessage, options: TransportOptions)
        -> Result<HTTPResponseMessage, any Error>
    {
        curl_easy_reset(handle)
        let sink = Sink()
        let sinkPointer = Unmanaged.passRetained(sink)
        defer { sinkPointer.release() }
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }

        var setupError: CURLcode = CURLE_OK
        func check(_ code: CURLcode) { if code != CURLE_OK && setupError == CURLE_OK { setupError = code } }

        check(lhs_setopt_str(handle, CURLOPT_URL, request.url))
        check(lhs_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        check(lhs_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeoutMs))
        check(lhs_setopt_long(handle, CURLOPT_TIMEOUT_MS, options.totalTimeoutMs))
        check(lhs_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        check(lhs_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        check(lhs_setopt_str(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        check(lhs_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        check(lhs_setopt_long(handle, CURLOPT_TCP_NODELAY, 1))
        if request.freshConnection {
            // Never on a reused connection, never kept: libcurl cannot replay it below the ledger.
            check(lhs_setopt_long(handle, CURLOPT_FRESH_CONNECT, 1))
            check(lhs_setopt_long(handle, CURLOPT_FORBID_REUSE, 1))
        }
        check(lhs_setopt_str(handle, CURLOPT_ACCEPT_ENCODING, ""))
        if let caFile = options.caFile { check(lhs_setopt_str(handle, CURLOPT_CAINFO, caFile)) }
        if let abort = options.abort {
            if abort.isTripped { return .failure(TransportFailure.notSent(code: -2, reason: "stopped by a signal")) }
            check(lhs_setopt_long(handle, CURLOPT_NOPROGRESS, 0))
            check(lhs_setopt_xferinfo_callback(handle, progressCallback))
            check(lhs_setopt_ptr(handle, CURLOPT_XFERINFODATA, Unmanaged.passUnretained(abort).toOpaque()))
        }
        check(lhs_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION, writeCallback))
        check(lhs_setopt_ptr(handle, CURLOPT_WRITEDATA, sinkPointer.toOpaque()))
        check(lhs_setopt_write_callback(handle, CURLOPT_HEADERFUNCTION, headerCallback))
        check(lhs_setopt_ptr(handle, CURLOPT_HEADERDATA, sinkPointer.toOpaque()))

        switch request.method {
        case .get:
            check(lhs_setopt_long(handle, CURLOPT_HTTPGET, 1))
        default:
            if request.method != .post { check(lhs_setopt_str(handle, CURLOPT_CUSTOMREQUEST, request.method.rawValue)) }
            let body = request.body ?? Data()
            check(lhs_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
            body.withUnsafeBytes { raw in
                let base = raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
                check(lhs_setopt_ptr(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: base)))
            }
        }
        // "Expect: 100-continue" would stall bodies over 1 kB on servers that do not answer it.
        headerList = curl_slist_append(headerList, "Expect:")
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        check(lhs_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
        if setupError != CURLE_OK {
            return .failure(TransportFailure.notSent(code: Int(setupError.rawValue), reason: describe(setupError)))
        }

        let code = curl_easy_perform(handle)
        if code != CURLE_OK {
            var requestSize = 0
            _ = lhs_getinfo_long(handle, CURLINFO_REQUEST_SIZE, &requestSize)
            let reason = describe(code)
            if connectPhaseCodes.contains(code.rawValue) || requestSize == 0 {
                return .failure(TransportFailure.notSent(code: Int(code.rawValue), reason: reason))
            }
            return .failure(TransportFailure.maybeSent(code: Int(code.rawValue), reason: reason))
        }
        var status = 0
        _ = lhs_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var headers: [String: String] = [:]
        for line in sink.headerLines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = value
        }
        return .success(HTTPResponseMessage(status: status, headers: headers, body: sink.body))
    }

    private static func describe(_ code: CURLcode) -> String {
        guard let text = curl_easy_strerror(code) else { return "curl error \(code.rawValue)" }
        return String(cString: text)
    }
}
