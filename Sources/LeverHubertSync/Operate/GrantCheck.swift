import Foundation

extension Checker {
    /// With Lever OAuth: the current grant's scopes against what the configuration needs, how long its refresh token
    /// has been unused (Lever lets it die after 90 days idle), and a refreshed grant that could not be saved.
    func grantItems() async -> [CheckReport.Item] {
        let now = Date().millis
        guard let oauth = runtime.oauth, let settings = runtime.config.lever.oauth else { return [] }
        var items: [CheckReport.Item] = []
        if let unsaved = await oauth.unsavedGrant {
            items.append(.init(name: "lever OAuth token file", ok: false, detail: unsaved.description))
        }
        guard let grant = await oauth.currentGrant() else {
            items.append(
                .init(
                    name: "lever OAuth grant", ok: false,
                    detail: "no token file at \(settings.tokenFile): run `lever-hubert-sync authorize`"))
            return items
        }
        if let refusedAt = grant.refusedAt {
            items.append(
                .init(
                    name: "lever OAuth grant", ok: false,
                    detail: (grant.refusal ?? "Lever refused this grant")
                        + " (recorded \(RFC3339.format(refusedAt)))"))
        }
        let needed = LeverScopes.needed(confidentialAccess: settings.confidentialAccess)
        if let granted = grant.scopes {
            let missing = GrantReport.missingLines(granted: granted, confidentialAccess: settings.confidentialAccess)
            if missing.isEmpty {
                items.append(
                    .init(
                        name: "lever OAuth scopes", ok: true,
                        detail: "all \(needed.count) scopes the configuration needs were granted"))
            } else {
                items.append(.init(name: "lever OAuth scopes", ok: false, detail: missing.joined(separator: "; ")))
            }
        } else {
            items.append(
                .init(
                    name: "lever OAuth scopes", status: .warn,
                    detail:
                        "not known for this grant (obtained elsewhere, or Lever did not say): run `lever-hubert-sync authorize` to "
                        + "grant exactly the \(needed.count) scopes needed"))
        }
        if let idle = GrantReport.idle(grant, now: now) {
            let dies = RFC3339.format(idle.diesAt)
            let detail =
                "refresh token last used \(idle.days) days ago; unused, Lever lets it die after 90 days idle, on \(dies)"
            if idle.diesAt <= now {
                items.append(
                    .init(
                        name: "lever OAuth refresh token", ok: false,
                        detail: detail + ": it is dead, run `lever-hubert-sync authorize`"))
            } else if idle.days >= 30 {
                items.append(
                    .init(
                        name: "lever OAuth refresh token", status: .warn,
                        detail: detail + " (a paused deployment must refresh at least monthly: run `check` or a pass)"))
            } else {
                items.append(.init(name: "lever OAuth refresh token", ok: true, detail: detail))
            }
        } else {
            items.append(
                .init(
                    name: "lever OAuth refresh token", status: .warn,
                    detail: "when it was last used is not known (a token file from an earlier release)"))
        }
        if let authorizedAt = grant.authorizedAt, let diesAt = GrantReport.absoluteExpiry(grant) {
            let days = Int(max(0, diesAt - now) / 86_400_000)
            let detail =
                "authorized on \(RFC3339.format(authorizedAt)); Lever ends a grant a year after it was "
                + "given, used or not: on \(RFC3339.format(diesAt))"
            if diesAt <= now {
                items.append(
                    .init(
                        name: "lever OAuth grant lifetime", ok: false,
                        detail: detail + ": it is over, run `lever-hubert-sync authorize`"))
            } else if days < 30 {
                items.append(
                    .init(
                        name: "lever OAuth grant lifetime", status: .warn,
                        detail: detail + " (in \(days) days): run `lever-hubert-sync authorize` before then"))
            }
        }
        return items
    }
}
