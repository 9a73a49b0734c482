import Foundation
import Testing

@testable import SyncCore

/// The planning rules as tables of input → expected decision. No I/O.
@Suite struct PlannerTests {
    static let template = "61f080d9414018eda48a7380"

    @Test(
        "posting tags",
        arguments: [
            (["Hubert: 61f080d9414018eda48a7380"], PostingTagVerdict.template(template)),
            (["hubert:61F080D9414018EDA48A7380", "Stockholm"], .template(template)),
            (["Hubert: 61f080d9414018eda48a7380", "Hubert: 61f080d9414018eda48a7380"], .template(template)),
            (["Full-time"], .none),
            ([], .none),
            (["Hubert: Lead"], .none),
        ] as [([String], PostingTagVerdict)])
    func postingTags(tags: [String], expected: PostingTagVerdict) {
        #expect(Planner.hubertTemplate(tags: tags) == expected)
    }

    @Test(
        "malformed and duplicate Hubert tags are reported",
        arguments: [
            (["Hubert: 12345"], "invalid_hubert_tag"),
            (["Hubert: 61f080d9414018eda48a738z"], "invalid_hubert_tag"),
            (["Hubert:"], "invalid_hubert_tag"),
            (["Hubert: 61f080d9414018eda48a7380", "Hubert: 5e2b91c04d7a3f18b6c2e9a1"], "multiple_hubert_tags"),
            (["Hubert: 61f080d9414018eda48a7380", "Hubert: oops"], "invalid_hubert_tag"),
        ])
    func badTags(tags: [String], reason: String) {
        guard case .invalid(let found, let message) = Planner.hubertTemplate(tags: tags) else {
            Issue.record("expected \(reason) for \(tags)")
            return
        }
        #expect(found.rawValue == reason)
        #expect(!message.isEmpty)
    }

    /// The posting tagged with `template` from 1,000 on; the pass's window 500 … 5,000.
    static let periods = [TaggingPeriod(templateId: template, start: 1_000)]
    static let window: ClosedRange<Millis> = 500...5_000

    static func opportunity(
        created: Millis = 2_000, stage: String = "applicant-new", entered: Millis? = nil,
        archived: Bool = false, emails: [String] = ["a@example.com"], name: String? = "Ada Lovelace",
        contactAllowed: Bool? = nil, anonymized: Bool = false
    ) -> Candidacy {
        Candidacy(
            id: "o1", name: name, emails: emails, stageId: stage,
            stageChanges: [Candidacy.StageChange(toStageId: stage, at: entered ?? created)],
            enteredCurrentStageAt: entered ?? created, isArchived: archived, isAnonymized: anonymized,
            contactAllowed: contactAllowed, createdAt: created, appliedAt: created, updatedAt: nil,
            profileURL: "https://hire.lever.co/candidates/o1")
    }

    /// The pass's own rule (`Planner.eligibility`) for `o` on the posting, in the window, at `now`.
    static func decide(_ o: Candidacy, backfill: Bool = false, invited: Bool = false, now: Millis = 5_000)
        -> Eligibility
    {
        Planner.eligibility(
            EligibilityInput(
                opportunity: o, templateId: template, periods: periods,
                newApplicantStageId: "applicant-new", window: window, backfill: backfill, invited: invited, now: now,
                holdMs: 86_400_000))
    }

    static func isInvite(_ decision: Eligibility) -> Bool {
        if case .invite = decision { return true }
        return false
    }

    /// Erasure before every other rule: outside the window, before the tag, or already invited, an anonymized
    /// opportunity is to be forgotten.
    @Test func anAnonymizedOpportunityIsForgottenWhateverElseHolds() {
        #expect(Self.decide(Self.opportunity(created: 9_000, anonymized: true)) == .forget)
        #expect(Self.decide(Self.opportunity(created: 700, anonymized: true)) == .forget)
        #expect(Self.decide(Self.opportunity(anonymized: true), invited: true) == .forget)
        #expect(Self.decide(Self.opportunity(created: 9_000)) == .notDue(.outsideWindow))
    }

    @Test func newApplicantAfterTagIsInvited() {
        #expect(
            Self.decide(Self.opportunity())
                == .invite(
                    HubertCandidate(
                        firstName: "Ada", lastName: "Lovelace",
                        email: "a@example.com", phoneNumber: nil), trigger: 2_000))
    }

    @Test func applicantBeforeTagWasSeenIsNotInvited() {
        #expect(Self.decide(Self.opportunity(created: 900)) == .notDue(.beforeTaggingPeriod))
    }

    @Test func backfillIgnoresTheTaggingPeriodButKeepsTheWindow() {
        #expect(Self.isInvite(Self.decide(Self.opportunity(created: 900), backfill: true)), "backfill must invite")
        #expect(Self.decide(Self.opportunity(created: 9_000), backfill: true) == .notDue(.outsideWindow))
    }

    @Test func candidateMovedIntoNewApplicantIsInvited() {
        var o = Self.opportunity(created: 100, stage: "applicant-new", entered: 3_000)
        o.stageChanges = [
            Candidacy.StageChange(toStageId: "lead-new", at: 100),
            Candidacy.StageChange(toStageId: "applicant-new", at: 3_000),
        ]
        #expect(Self.decide(o) == .invite(Self.ada, trigger: 3_000), "a move into New applicant after the tag")
    }

    @Test func movedIntoNewApplicantButAlreadyLeftIsNotInvitedByTheMove() {
        var o = Self.opportunity(created: 100, stage: "lead-reached-out", entered: 3_000)
        o.stageChanges = [
            Candidacy.StageChange(toStageId: "applicant-new", at: 3_000),
            Candidacy.StageChange(toStageId: "lead-reached-out", at: 3_500),
        ]
        #expect(Self.decide(o) == .notDue(.outsideWindow))
    }

    static let ada = HubertCandidate(firstName: "Ada", lastName: "Lovelace", email: "a@example.com", phoneNumber: nil)

    @Test(
        "ineligible opportunities",
        arguments: [
            (opportunity(archived: true), Eligibility.notDue(.archived)),
            (opportunity(anonymized: true), .forget),
            (opportunity(contactAllowed: false), .hold(.contactForbidden, trigger: 2_000)),
        ])
    func ineligible(o: Candidacy, expected: Eligibility) {
        #expect(Self.decide(o) == expected)
    }

    @Test func aLapsedContactPermissionIsNotContact() {
        var o = Self.opportunity(contactAllowed: true)
        o.contactExpiresAt = 4_000
        guard case .hold(.contactForbidden, _) = Self.decide(o, now: 4_500) else {
            Issue.record("a lapsed permission holds the candidate back")
            return
        }
        #expect(Self.isInvite(Self.decide(o, now: 3_500)), "a permission still valid must invite")
    }

    @Test func dataProtectionAllowedOrAbsentIsFine() {
        #expect(Self.isInvite(Self.decide(Self.opportunity(contactAllowed: true))), "allowed must invite")
        #expect(Self.isInvite(Self.decide(Self.opportunity(contactAllowed: nil))), "absent must invite")
    }

    @Test func alreadyInvitedIsNeverInvitedAgain() {
        #expect(Self.decide(Self.opportunity(), invited: true) == .alreadyInvited)
    }

    @Test func missingEmailHoldsTheCandidateBackNamingTheOpportunity() {
        #expect(Self.decide(Self.opportunity(emails: [])) == .hold(.missingEmail, trigger: 2_000))
        let message = Planner.holdMessage(opportunityId: "o1", reason: .missingEmail)
        #expect(message.contains("o1") && message.contains("add one and the next pass invites"))
    }

    @Test(
        "names split so that first + space + last gives the Lever name back",
        arguments: [
            ("Ada Lovelace", "Ada", "Lovelace"),
            ("Cher", "Cher", nil),
            ("Grace Brewster Murray Hopper", "Grace", "Brewster Murray Hopper"),
            ("李小龙", "李小龙", nil),
            ("José  María", "José", " María"),
            ("Øyvind Ødegård", "Øyvind", "Ødegård"),
        ] as [(String, String, String?)])
    func nameSplit(name: String, first: String, last: String?) {
        let split = HubertCandidate.splitName(name)
        #expect(split.first == first)
        #expect(split.last == last)
        #expect(split.first + (split.last.map { " " + $0 } ?? "") == name)
    }

    static func result(_ grade: HubertGrade, score: Double = 80) -> HubertResult {
        HubertResult(
            grade: grade, score: score, threshold: 70, applicationUrl: "https://app.hubert.ai/applications/iv1",
            summaryUrl: "https://app.hubert.ai/applications/iv1/summary")
    }

    static func state(
        _ grade: HubertGrade, tags: [String] = [], links: [String] = [], stage: String = "applicant-new",
        invitedIn: String? = "applicant-new", target: String? = "phone", noteWritten: Bool = false,
        archived: Bool = false, moved: Bool = false
    ) -> Planner.ResultState {
        let o = Candidacy(
            id: "o1", name: nil, emails: [], stageId: stage, isArchived: archived, tags: tags, links: links,
            createdAt: nil, appliedAt: nil, updatedAt: nil, profileURL: "https://hire.lever.co/candidates/o1")
        return Planner.ResultState(
            interviewId: "iv1", result: result(grade), opportunity: o, stageAtInvitation: invitedIn,
            autoMoveStageId: target, noteWritten: noteWritten, alreadyMoved: moved)
    }

    @Test func completedResultGivesTagNoteLinkAndMove() {
        #expect(Planner.planResult(Self.state(.lead)).map(\.type) == [.addTag, .addNote, .addLink, .moveStage])
        #expect(
            Planner.planResult(Self.state(.lead)) == [
                .addTag(opportunityId: "o1", tag: "Hubert: Lead"), .addNote(opportunityId: "o1"),
                .addLink(opportunityId: "o1", url: "https://app.hubert.ai/applications/iv1"),
                .moveStage(opportunityId: "o1", stageId: "phone"),
            ])
    }

    @Test func everythingAlreadyThereMeansNothingToDo() {
        let s = Self.state(
            .lead, tags: ["Hubert: Lead"], links: ["https://app.hubert.ai/applications/iv1"],
            stage: "phone", noteWritten: true)
        #expect(Planner.planResult(s).isEmpty)
    }

    @Test func regradeReplacesTheStaleGradeTag() {
        let actions = Planner.planResult(
            Self.state(
                .passed, tags: ["Hubert: Lead", "Other"],
                links: ["https://app.hubert.ai/applications/iv1"], target: nil))
        #expect(
            actions == [
                .removeTag(opportunityId: "o1", tag: "Hubert: Lead"),
                .addTag(opportunityId: "o1", tag: "Hubert: Passed"), .addNote(opportunityId: "o1"),
            ])
    }

    @Test func humanMovedTheCandidateSoNoAutoMove() {
        #expect(!Planner.planResult(Self.state(.lead, stage: "onsite")).contains { $0.type == .moveStage })
    }

    @Test func archivedOrUnknownInvitationStageOrAlreadyMovedMeansNoMove() {
        #expect(!Planner.planResult(Self.state(.lead, archived: true)).contains { $0.type == .moveStage })
        #expect(!Planner.planResult(Self.state(.lead, invitedIn: nil)).contains { $0.type == .moveStage })
        #expect(!Planner.planResult(Self.state(.lead, moved: true)).contains { $0.type == .moveStage })
        #expect(!Planner.planResult(Self.state(.lead, target: nil)).contains { $0.type == .moveStage })
    }

    @Test(
        "actions encode as docs/cli.md shows them, and decode back",
        arguments: [
            (
                Action.invite(opportunityId: "o", postingId: "p", templateId: "t"),
                #"{"opportunityId":"o","postingId":"p","templateId":"t","type":"invite"}"#
            ),
            (
                .addTag(opportunityId: "o", tag: "Hubert: Lead"),
                #"{"opportunityId":"o","tag":"Hubert: Lead","type":"addTag"}"#
            ),
            (
                .removeTag(opportunityId: "o", tag: "Hubert: Passed"),
                #"{"opportunityId":"o","tag":"Hubert: Passed","type":"removeTag"}"#
            ),
            (.addNote(opportunityId: "o"), #"{"opportunityId":"o","type":"addNote"}"#),
            (
                .addLink(opportunityId: "o", url: "https://x/y"),
                #"{"opportunityId":"o","type":"addLink","url":"https://x/y"}"#
            ),
            (.moveStage(opportunityId: "o", stageId: "s"), #"{"opportunityId":"o","stageId":"s","type":"moveStage"}"#),
        ] as [(Action, String)])
    func actionJSON(action: Action, json: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        #expect(String(decoding: try encoder.encode(action), as: UTF8.self) == json)
        #expect(try JSONDecoder().decode(Action.self, from: Data(json.utf8)) == action)
    }

    @Test func noteCarriesGradeScoreThresholdLinksAndMarker() {
        let text = Planner.noteText(Self.result(.lead, score: 82.5), interviewId: "iv1", regrade: false)
        #expect(text.contains("Lead"))
        #expect(text.contains("82.5"))
        #expect(text.contains("threshold 70"))
        #expect(text.contains("https://app.hubert.ai/applications/iv1/summary"))
        #expect(
            text.contains(
                Planner.noteMarker(interviewId: "iv1", fingerprint: Self.result(.lead, score: 82.5).fingerprint)))
        #expect(
            Planner.noteMarker(interviewId: "iv1", fingerprint: "a")
                != Planner.noteMarker(interviewId: "iv1", fingerprint: "b"))
    }
}
