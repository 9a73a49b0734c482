import Foundation
import Testing

@testable import LeverHubertSync

/// The one cursor walk both clients use: pure control flow, no I/O.
@Suite struct WalkPagesTests {
    static let stale = APIError(service: .lever, status: 400, code: nil, message: "Invalid offset token")

    @Test func aStaleCursorRestartsTheListFromItsFirstPage() async throws {
        let cursors = Locked<[String?]>([])
        let stales = Locked(1)
        try await walkPages(
            service: .lever, what: "/x", isStale: { $0.status == 400 },
            fetch: { cursor in
                cursors.withLock { $0.append(cursor) }
                if cursor == "2",
                    stales.withLock({
                        $0 -= 1
                        return $0 >= 0
                    })
                {
                    throw Self.stale
                }
                return cursor.map { Int($0)! } ?? 1
            },
            handle: { page in page < 3 ? String(page + 1) : nil })
        #expect(cursors.withLock { $0 } == [nil, "2", nil, "2", "3"])
    }

    @Test func aCursorRejectedOverAndOverStopsThePass() async {
        await #expect(throws: PassAbort.self) {
            try await walkPages(
                service: .hubert, what: "/interviews", isStale: { _ in true },
                fetch: { cursor in
                    if cursor != nil { throw Self.stale }
                    return 1
                },
                handle: { _ in "next" })
        }
    }

    @Test func anErrorOfTheHandlerIsNeverTakenForAStaleCursor() async {
        let fetches = Locked(0)
        await #expect(throws: APIError.self) {
            try await walkPages(
                service: .lever, what: "/x", isStale: { _ in true },
                fetch: { _ in fetches.withLock { $0 += 1 } },
                handle: { _ in throw Self.stale })
        }
        #expect(fetches.withLock { $0 } == 1)
    }

    @Test func aMissingItemIsNil() async throws {
        let missing: Int? = try await nilOn404 {
            throw APIError(service: .hubert, status: 404, code: nil, message: nil)
        }
        #expect(missing == nil)
        await #expect(throws: APIError.self) {
            _ = try await nilOn404 { () async throws -> Int in
                throw APIError(service: .hubert, status: 403, code: nil, message: nil)
            }
        }
    }
}
