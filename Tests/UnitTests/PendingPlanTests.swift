import Foundation
import Testing

@testable import SyncCore

/// `Planner.pendingInvitation` as a table: what a settling pass has observed of one unconfirmed invitation, and the
/// whole decision it gets.
@Suite struct PendingPlanTests {
    static let day: Millis = 86_400_000
    static let rules = SettleRules(now: 40 * day, giveUpDays: 30, skewed: false)

    static func pending(createdAt: Millis = 39 * day, attempts: Int = 0) -> ObservedPending {
        var observed = ObservedPending(
            opportunityId: "o1", postingId: "p1", templateId: "t1", createdAt: createdAt, attempts: attempts)
        observed.interview = .some(nil)
        return observed
    }

    static func candidacy(
        name: String? = "Ada Lovelace", emails: [String] = ["ada@example.com"], archived: Bool = false,
        anonymized: Bool = false, allowed: Bool? = nil
    ) -> Candidacy {
        Candidacy(
            id: "o1", name: name, emails: emails, stageId: "new", isArchived: archived, isAnonymized: anonymized,
            contactAllowed: allowed, createdAt: 1, appliedAt: 1, updatedAt: 1, profileURL: "https://lever/o1")
    }

    static func plan(_ observed: ObservedPending, rules: SettleRules = rules) -> PendingPlan {
        Planner.pendingInvitation(observed, rules: rules)
    }

    @Test func hubertIsAskedFirstAndWhatItHasIsConfirmed() {
        var observed = Self.pending()
        observed.interview = nil
        #expect(Self.plan(observed) == .readBack)
        let found = HubertInterview(
            id: "iv1", templateId: "t1", externalReference: nil, status: "invited", updatedAt: nil, result: nil)
        observed.interview = .some(found)
        observed.postingRefusal = PostingRefusal(.postingNotTagged, "untagged")
        #expect(Self.plan(observed) == .confirm(found), "what Hubert has is recorded whatever the posting says now")
    }

    @Test func anUnreadablePostingWaitsAndARefusingOneCloses() {
        var observed = Self.pending()
        observed.postingUnreadable = true
        observed.postingRefusal = PostingRefusal(.templateInactive, "inactive")
        #expect(Self.plan(observed) == .wait)
        observed.postingUnreadable = false
        #expect(Self.plan(observed) == .close(reason: "template_inactive", why: "inactive", skipped: false))
    }

    @Test func givenUpOnlyAfterTheHorizonAndSeveralTriesOnATrustedClock() {
        let old = Self.pending(createdAt: 0, attempts: 3)
        guard case .close(let reason, _, false) = Self.plan(old) else {
            Issue.record("expected a close")
            return
        }
        #expect(reason == ProblemReason.invitationGivenUp.rawValue)
        #expect(Self.plan(Self.pending(createdAt: 0, attempts: 2)) == .readCandidacy, "too few tries")
        #expect(
            Self.plan(old, rules: SettleRules(now: 40 * Self.day, giveUpDays: 30, skewed: true)) == .readCandidacy,
            "a clock out of step gives nothing up")
    }

    @Test func theCandidacyDecidesTheRest() {
        var observed = Self.pending()
        #expect(Self.plan(observed) == .readCandidacy)
        observed.candidacy = .some(nil)
        #expect(Self.plan(observed) == .forget)
        observed.candidacy = .some(Self.candidacy(archived: true))
        #expect(
            Self.plan(observed)
                == .close(reason: "opportunity_archived", why: "the candidate is archived", skipped: true))
        observed.candidacy = .some(Self.candidacy(anonymized: true))
        #expect(
            Self.plan(observed)
                == .close(reason: "opportunity_anonymized", why: "the candidate is anonymized", skipped: true))
        observed.candidacy = .some(Self.candidacy(emails: []))
        #expect(Self.plan(observed) == .hold(.missingEmail))
        observed.candidacy = .some(Self.candidacy(allowed: false))
        #expect(Self.plan(observed) == .hold(.contactForbidden))
        observed.candidacy = .some(Self.candidacy(name: " "))
        #expect(Self.plan(observed) == .hold(.missingName))
        observed.candidacy = .some(Self.candidacy())
        #expect(
            Self.plan(observed)
                == .send(
                    HubertCandidate(firstName: "Ada", lastName: "Lovelace", email: "ada@example.com", phoneNumber: nil))
        )
    }
}
