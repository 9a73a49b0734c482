import Foundation

/// The reading rules both clients share, each written once: a GET whose body does not parse is fetched again; a 404
/// on one item means "not there"; a list whose cursor goes stale is walked again from its first page.
extension ServiceClient {
    /// How often a body that does not parse is fetched again before the read fails.
    static let malformedRetries = 2

    /// GETs `url` and decodes it; a body that does not parse is fetched again `malformedRetries` times. Then one
    /// item's read fails as that item's problem (an `APIError` with `noAnswer` and code `malformed_response`, which
    /// no caller takes for an answer), and a read every pass needs stops the pass (exit 75) with the checkpoint where
    /// it was.
    func getDecoded<T: Decodable>(_ type: T.Type, url: String, what: String, scope: RequestScope) async throws -> T {
        var attempt = 0
        while true {
            let response = try await send(HTTPRequestMessage(method: .get, url: url), mode: .idempotent, scope: scope)
            do {
                return try JSONDecoder().decode(T.self, from: response.body)
            } catch {
                // `send` counted this 2xx as an item answered: an unreadable body is none (every attempt).
                if scope == .item { await ledger.itemAnswerRetracted(service) }
                attempt += 1
                guard attempt > Self.malformedRetries else { continue }
                if scope == .item {
                    // Never taken for an answer (`noAnswer`): the item's problem, asked again on a later pass.
                    if let whole = await ledger.itemUnanswered(service) {
                        throw PassAbort.unavailable(service: service, reason: whole)
                    }
                    throw APIError.noAnswer(
                        service, status: response.status, code: "malformed_response",
                        "the answer for \(what) could not be read")
                }
                throw PassAbort.unavailable(service: service, reason: "malformed response from \(what)")
            }
        }
    }
}

/// `body`'s value, or nil when the service answers 404 (the item does not exist).
func nilOn404<T>(_ body: () async throws -> T) async throws -> T? {
    do {
        return try await body()
    } catch let error as APIError where error.status == 404 {
        return nil
    }
}

/// A page that cannot be a list's next: one item's list (`scope: .item`) is that item's problem
/// (`APIError.noAnswer`, code `malformed_page`), a list every pass needs stops the pass (exit 75).
func malformedPage(service: Service, what: String, scope: RequestScope, _ reason: String) -> any Error {
    scope == .item
        ? APIError.noAnswer(service, status: 200, code: "malformed_page", "\(what): \(reason)")
        : PassAbort.unavailable(service: service, reason: "malformed page from \(what): \(reason)")
}

/// Walks a cursor-paged list: `fetch` reads the page at a cursor (nil: the first), `handle` takes it and returns
/// the next cursor (nil or empty: the end). When the service rejects a cursor as stale, the list is walked again from
/// its first page (handlers are idempotent: the ledger makes them so), at most `restarts` times; then the pass stops
/// (exit 75). Only the fetch is watched for a stale cursor, never the handler. A cursor handed out twice in one walk
/// is a malformed answer (a list that would never end): the pass stops with exit 75 and names it, and since the walk
/// never finished its window, the checkpoint stays where it was.
/// A list about one item (`scope: .item`: one candidate's interviews, notes or applications) that does this is that
/// item's problem (`APIError.noAnswer`), never the pass's.
func walkPages<Page>(
    service: Service, what: String, restarts: Int = 3, scope: RequestScope = .pass, isStale: (APIError) -> Bool,
    fetch: (_ cursor: String?) async throws -> Page, handle: (Page) async throws -> String?
) async throws {
    func malformed(_ reason: String) -> any Error { malformedPage(service: service, what: what, scope: scope, reason) }
    var cursor: String?
    var restarted = 0
    /// The cursors this walk was given (64-bit hashes: 8 bytes a page).
    var seen = Set<UInt64>()
    while true {
        let page: Page
        do {
            page = try await fetch(cursor)
        } catch let error as APIError where cursor != nil && isStale(error) {
            restarted += 1
            guard restarted <= restarts else { throw malformed("cursor rejected repeatedly") }
            cursor = nil
            seen.removeAll()
            continue
        }
        guard let next = try await handle(page), !next.isEmpty else { return }
        guard seen.insert(FNV1a.hash(next)).inserted else { throw malformed("the paging cursor repeated") }
        cursor = next
    }
}
