import Foundation
import Logging
import Testing

@testable import LeverHubertSync

/// Answers Lever's user endpoints from a table; anything else is a 404.
struct FakeLeverUsers: HTTPTransport {
    /// Users by id, as Lever returns them.
    var users: [(id: String, email: String, deactivatedAt: Int64?)]

    func json(_ user: (id: String, email: String, deactivatedAt: Int64?)) -> String {
        "{\"id\": \"\(user.id)\", \"name\": \"U\", \"email\": \"\(user.email)\", \"deactivatedAt\": "
            + (user.deactivatedAt.map(String.init) ?? "null") + "}"
    }

    func send(_ request: HTTPRequestMessage) async throws -> HTTPResponseMessage {
        let components = URLComponents(string: request.url)
        let path = components?.path ?? ""
        if path == "/v1/users" {
            let email = components?.queryItems?.first { $0.name == "email" }?.value?.lowercased()
            let found = users.filter { email == nil || $0.email.lowercased() == email }.map(json)
            return HTTPResponseMessage(
                status: 200, body: Data("{\"data\": [\(found.joined(separator: ","))], \"hasNext\": false}".utf8))
        }
        if path.hasPrefix("/v1/users/"), let user = users.first(where: { "/v1/users/" + $0.id == path }) {
            return HTTPResponseMessage(status: 200, body: Data("{\"data\": \(json(user))}".utf8))
        }
        return HTTPResponseMessage(
            status: 404, body: Data("{\"code\": \"ResourceNotFound\", \"message\": \"not found\"}".utf8))
    }
}

@Suite struct PerformAsTests {
    static func user(_ id: String, deactivated: Bool) throws -> LeverUser {
        let json = "{\"id\": \"\(id)\", \"deactivatedAt\": \(deactivated ? "1700000000000" : "null")}"
        return try JSONDecoder().decode(LeverUser.self, from: Data(json.utf8))
    }

    @Test(
        "an active user is chosen, never a deactivated one",
        arguments: [
            ([], nil), ([("a", true)], nil), ([("a", true), ("b", false)], "b"), ([("a", false), ("b", false)], "a"),
            ([("a", false), ("b", true)], "a"), ([("a", true), ("b", true)], nil),
        ] as [([(String, Bool)], String?)])
    func choose(users: [(String, Bool)], expected: String?) throws {
        #expect(PerformAsResolver.choose(try users.map { try Self.user($0.0, deactivated: $0.1) })?.id == expected)
    }

    func lever(_ users: [(id: String, email: String, deactivatedAt: Int64?)]) -> LeverClient {
        let http = ServiceClient(
            service: .lever, transport: FakeLeverUsers(users: users),
            bucket: TokenBucket(rate: 1000, burst: 100), policy: RetryPolicy(),
            ledger: RequestLedger(retryBudget: 0), logger: Logger(label: "t") { _ in SwiftLogNoOpLogHandler() },
            authorization: { "Basic eA==" })
        return LeverClient(http: http, baseURL: "http://127.0.0.1:1/v1")
    }

    /// The configuration error of a resolution, or nil when it resolved.
    func failure(_ configured: String, _ users: [(id: String, email: String, deactivatedAt: Int64?)]) async -> String? {
        do {
            _ = try await PerformAsResolver.resolve(configured, lever: lever(users))
            return nil
        } catch let abort as PassAbort {
            #expect(abort.exitCode == 78)
            return "\(abort)"
        } catch {
            return "unexpected \(error)"
        }
    }

    @Test func anEmailResolvesToTheActiveUserEvenWhenADeactivatedOneComesFirst() async throws {
        let users: [(id: String, email: String, deactivatedAt: Int64?)] = [
            ("old", "bot@example.com", 1_700_000_000_000), ("new", "Bot@Example.com", nil),
            ("other", "x@example.com", nil),
        ]
        #expect(try await PerformAsResolver.resolve("bot@example.com", lever: lever(users)) == "new")
        #expect(try await PerformAsResolver.resolve("new", lever: lever(users)) == "new")
    }

    @Test func aDeactivatedOrUnknownPerformAsUserIsAConfigurationErrorWithoutTheAddress() async throws {
        let users: [(id: String, email: String, deactivatedAt: Int64?)] = [
            ("old", "left@example.com", 1_700_000_000_000)
        ]
        let onlyDeactivated = try #require(await failure("left@example.com", users))
        #expect(onlyDeactivated.contains("lever.performAs") && onlyDeactivated.contains("deactivated"))
        #expect(!onlyDeactivated.contains("left@example.com"))
        let unknownEmail = try #require(await failure("nobody@example.com", users))
        #expect(unknownEmail.contains("lever.performAs") && !unknownEmail.contains("nobody@example.com"))
        let deactivatedId = try #require(await failure("old", users))
        #expect(deactivatedId.contains("lever.performAs") && deactivatedId.contains("deactivated"))
        let unknownId = try #require(await failure("no-such-id", users))
        #expect(unknownId.contains("lever.performAs"))
    }
}
