import Foundation

/// Resolves `lever.performAs` (a Lever user id or e-mail address) to the id of an active Lever user. `check` and
/// `run` both use it, so what `check` accepts is exactly what a pass writes as. A deactivated user is never used:
/// Lever would attribute notes and moves to someone who has left.
public enum PerformAsResolver {
    /// The user id for the configured value: an e-mail (it has an `@`) is looked up with `GET /users?email=`, an id
    /// with `GET /users/:id`. Throws `PassAbort.configuration` (exit 78) naming `lever.performAs` when no active user
    /// matches; the message does not repeat the e-mail address. Credential and transport errors pass through.
    public static func resolve(_ configured: String, lever: LeverClient) async throws -> String {
        let value = configured.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw PassAbort.configuration("lever.performAs: empty") }
        if value.contains("@") {
            let wanted = value.lowercased()
            // Lever matches the address itself; a user listed with another address is not the one configured.
            let users = try await lever.users(email: value).filter {
                $0.email.map { $0.lowercased() == wanted } ?? true
            }
            if let user = choose(users) { return user.id }
            throw PassAbort.configuration(
                users.isEmpty
                    ? "lever.performAs: no Lever user has that e-mail address"
                    : "lever.performAs: the Lever user with that e-mail address is deactivated; name an active user")
        }
        guard let user = try await lever.user(id: value) else {
            throw PassAbort.configuration("lever.performAs: no Lever user has the id \(value)")
        }
        guard choose([user]) != nil else {
            throw PassAbort.configuration("lever.performAs: Lever user \(user.id) is deactivated; name an active user")
        }
        return user.id
    }

    /// The user to write as among those found: the first active one (no `deactivatedAt`), in Lever's order; nil when
    /// every one is deactivated or there is none. Never falls back to a deactivated user.
    public static func choose(_ users: [LeverUser]) -> LeverUser? {
        users.first { $0.deactivatedAt == nil }
    }
}
