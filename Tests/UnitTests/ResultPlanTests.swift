import Foundation
import Testing

@testable import SyncCore

/// `Planner.result` as a table: each row is what a pass has observed of one interview, and the whole decision it gets.
@Suite struct ResultPlanTests {
    static let url = "https://hubert.example/a/1"
    static let result = HubertResult(
        grade: .lead, score: 90, threshold: 60, applicationUrl: url, summaryUrl: "https://hubert.example/s/1")

    static func interview(
        status: String = "completed", result: HubertResult? = result, opportunityId: String = "o1",
        source: String = "lever", unknownGrade: String? = nil
    ) -> HubertInterview {
        HubertInterview(
            id: "iv1", templateId: "t1",
            externalReference: HubertExternalReference(source: source, opportunityId: opportunityId, postingId: "p1"),
            status: status, updatedAt: 1_000, result: result, unknownGrade: unknownGrade)
    }

    static func candidacy(tags: [String] = [], links: [String] = [], anonymized: Bool = false) -> Candidacy {
        Candidacy(
            id: "o1", name: "Ada", emails: ["a@example.com"], postingId: "p1", stageId: "new", isAnonymized: anonymized,
            tags: tags, links: links, createdAt: 1, appliedAt: 1, updatedAt: 1, profileURL: "https://lever/o1")
    }

    /// Observed with the candidacy read (unless `read` is false).
    static func observed(_ interview: HubertInterview = interview(), read: Candidacy?? = .some(candidacy()))
        -> ObservedResult
    {
        var observed = ObservedResult(interview: interview)
        observed.candidacy = read
        return observed
    }

    @Test func anInterviewOfAnotherSourceIsNotTheSyncs() {
        #expect(Planner.result(Self.observed(Self.interview(source: "greenhouse"))) == .nothing)
    }

    @Test func anInterviewNamingNoOpportunityIsReportedAndNotKept() {
        guard case .report(let problem) = Planner.result(Self.observed(Self.interview(opportunityId: "  "))) else {
            Issue.record("expected a report")
            return
        }
        #expect(problem.reason == ProblemReason.invalidReference.rawValue)
    }

    @Test func anUnknownGradeStaysDueUnderItsOwnFingerprint() {
        let plan = Planner.result(Self.observed(Self.interview(result: nil, unknownGrade: "superb")))
        guard case .keepDue(let problem, let fingerprint, let error) = plan else {
            Issue.record("expected keepDue, got \(plan)")
            return
        }
        #expect(problem.reason == ProblemReason.unknownGrade.rawValue)
        #expect(fingerprint == "unknown:superb")
        #expect(error == "unknown grade superb")
    }

    @Test func anUnfinishedInterviewOnlyRecordsItsStatus() {
        for status in ["invited", "expired", "cancelled"] {
            #expect(Planner.result(Self.observed(Self.interview(status: status, result: nil))) == .recordStatus)
        }
    }

    @Test func aVersionWrittenOrGivenUpIsLeftAlone() {
        var observed = Self.observed(read: nil)
        observed.appliedFingerprint = Self.result.fingerprint
        #expect(Planner.result(observed) == .nothing)
        observed.appliedFingerprint = nil
        observed.givenUpFingerprint = Self.result.fingerprint
        #expect(Planner.result(observed) == .nothing)
        observed.revive = true
        #expect(Planner.result(observed) == .readCandidacy, "a backfill tries a given-up version again")
    }

    @Test func theCandidacyIsReadBeforeDecidingAndAGoneOneIsForgotten() {
        #expect(Planner.result(Self.observed(read: nil)) == .readCandidacy)
        #expect(Planner.result(Self.observed(read: .some(nil))) == .forget(opportunityId: "o1"))
        #expect(
            Planner.result(Self.observed(read: .some(Self.candidacy(anonymized: true)))) == .forget(opportunityId: "o1")
        )
    }

    @Test func aFirstWriteBackIsTagNoteAndLink() {
        #expect(
            Planner.result(Self.observed())
                == .writeBack(
                    [
                        .addTag(opportunityId: "o1", tag: "Hubert: Lead"), .addNote(opportunityId: "o1"),
                        .addLink(opportunityId: "o1", url: Self.url),
                    ], postingId: "p1", regrade: false))
    }

    @Test func anUnconfirmedNoteIsLookedForBeforeItIsWrittenAgain() {
        var observed = Self.observed()
        observed.noteStepDone = false
        let marker = Planner.noteMarker(interviewId: "iv1", fingerprint: Self.result.fingerprint)
        #expect(Planner.result(observed) == .readNotes(marker: marker))
        observed.markerFound = true
        guard case .writeBack(let found, _, _) = Planner.result(observed) else {
            Issue.record("expected a write-back")
            return
        }
        #expect(!found.contains(.addNote(opportunityId: "o1")), "the note that is there is not written again")
        observed.markerFound = false
        guard case .writeBack(let missing, _, _) = Planner.result(observed) else {
            Issue.record("expected a write-back")
            return
        }
        #expect(missing.contains(.addNote(opportunityId: "o1")))
    }

    @Test func aWriteBackTheLedgerDoesNotKnowMakesTheNotesBeRead() {
        let restored = Self.observed(read: .some(Self.candidacy(tags: ["Hubert: Lead"], links: [Self.url])))
        #expect(
            Planner.result(restored)
                == .readNotes(marker: Planner.noteMarker(interviewId: "iv1", fingerprint: Self.result.fingerprint)))
        var known = restored
        known.noteStepDone = true
        #expect(Planner.result(known) == .writeBack([], postingId: "p1", regrade: false), "everything is there")
    }

    @Test func theInvitedPostingsAutoMoveWinsAndARegradeIsSaidSo() {
        var observed = Self.observed()
        observed.invitedPostingId = "p2"
        observed.stageAtInvitation = "new"
        observed.appliedFingerprint = "an earlier version"
        observed.autoMoves = AutoMoves(byGrade: [.lead: "phone"], byPosting: ["p2": [.lead: "onsite"]])
        guard case .writeBack(let actions, let postingId, let regrade) = Planner.result(observed) else {
            Issue.record("expected a write-back")
            return
        }
        #expect(postingId == "p2")
        #expect(regrade)
        #expect(actions.last == .moveStage(opportunityId: "o1", stageId: "onsite"))
    }

    @Test(arguments: [
        // (since, attempts, now, skewed, gives up)
        (0, 3, 11, false, true),
        (0, 2, 11, false, false),
        (0, 3, 10, false, false),
        (0, 3, 11, true, false),
        (20, 5, 11, false, false),
    ])
    func unfinishedWorkIsGivenUpOnlyAfterThePeriodAndSeveralPasses(
        since: Int, attempts: Int, now: Int, skewed: Bool, expected: Bool
    ) {
        #expect(
            Planner.givesUp(since: Millis(since), attempts: attempts, now: Millis(now), giveUpMs: 10, skewed: skewed)
                == expected)
    }
}
