import Foundation
import Sandbox
import Testing

@testable import LeverHubertSync

/// One bad item becomes a named problem; the rest of the pass goes on; nothing crashes.
@Suite struct HostileInputTests {
    @Test func aCorpusOfBadInputDoesTheGoodItemsAndNamesTheBadOnes() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        _ = await env.lever.addPosting(text: "Broken", tags: ["Hubert: not-a-template", "HUBERT:   "])
        let longName = "Anna " + String(repeating: "Q", count: 10_000)
        let names = [
            "Søren Kierkegaard", "Мария Иванова", "محمد علي", "李小龙", "🙂 Emoji Person", "Cher", longName,
            "Ngũgĩ wa Thiong'o", "O'Brien-Smith Jr.",
        ]
        var good: [String: String] = [:]
        for (i, name) in names.enumerated() {
            good[await env.lever.addOpportunity(name: name, emails: ["g\(i)@example.com"], posting: posting)] = name
        }
        let noEmail = await env.lever.addOpportunity(name: "No Email", emails: [], posting: posting)
        let now = Date().millis
        let nullObjects = "raw-null-objects"
        await env.lever.setRawOpportunity(
            nullObjects,
            json: Data(
                """
                {"id": "raw-null-objects", "name": "Null Objects", "emails": ["n@example.com"], "stage": null, "applications": null,
                 "archived": null, "dataProtection": null, "stageChanges": null, "tags": null, "links": null, "phones": [null, {"value": null}],
                 "createdAt": \(now), "urls": null, "contact": null}
                """.utf8), posting: posting, createdAt: now)
        let unknownFields = "raw-unknown-fields"
        await env.lever.setRawOpportunity(
            unknownFields,
            json: Data(
                """
                {"id": "raw-unknown-fields", "name": "Unknown Fields", "emails": ["u@example.com"], "createdAt": \(now),
                 "surprise": {"deep": [1, {"x": null}]}, "stage": {"id": "applicant-new", "text": "New applicant", "extra": true},
                 "applications": [{"id": "a", "posting": "\(posting)", "createdAt": \(now), "weird": []}], "isAnonymized": "maybe"}
                """.utf8), posting: posting, createdAt: now)
        let weirdTypes = "raw-weird-types"
        await env.lever.setRawOpportunity(
            weirdTypes,
            json: Data(
                """
                {"id": "raw-weird-types", "name": 42, "emails": "not-an-array", "createdAt": "\(now)", "stage": 7}
                """.utf8), posting: posting, createdAt: now)
        await env.lever.setRawOpportunity(
            "raw-no-id", json: Data(#"{"name": "No Id", "emails": ["x@example.com"]}"#.utf8),
            posting: posting, createdAt: now)
        await env.lever.setRawOpportunity(
            "raw-string", json: Data(#""just a string""#.utf8), posting: posting, createdAt: now)

        let report = try await env.pass()
        #expect(report.exitCode == 0, "\(report.message ?? "")")
        let invited = Set(report.actions.filter { $0.type == .invite }.map(\.opportunityId))
        #expect(invited == Set(good.keys).union([nullObjects, unknownFields]))
        for (id, name) in good {
            let interview = try #require(await env.interviews(id).first)
            #expect(interview.firstName + (interview.lastName.map { " " + $0 } ?? "") == name)
        }
        let reasons = report.problems.map(\.reason)
        #expect(report.problems.contains { $0.opportunityId == noEmail && $0.reason == "missing_email" })
        #expect(report.problems.contains { $0.opportunityId == weirdTypes && $0.reason == "missing_email" })
        #expect(reasons.filter { $0 == "undecodable_opportunity" }.count == 2)
        #expect(reasons.contains("invalid_hubert_tag"))
        #expect(report.counts.failed == 2)
        let again = try await env.pass()
        #expect(again.actions.isEmpty)
    }
}

@Suite struct IsolationTests {
    @Test func aRefusalFromHubertIsNamedAndTheRestAreInvited() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let bad = await env.lever.addOpportunity(name: "Bad Mail", emails: ["not-an-email"], posting: posting)
        let good = await env.lever.addOpportunity(name: "Good Mail", emails: ["good@example.com"], posting: posting)
        let report = try await env.pass()
        #expect(report.exitCode == 0)
        #expect(report.actions.map(\.opportunityId) == [good])
        #expect(report.problems.contains { $0.opportunityId == bad && $0.reason == "invalid_email" })
        #expect(
            try await env.store().invitation(opportunityId: bad, templateId: TestEnvironment.templateA) == nil,
            "Hubert kept nothing: the intent is withdrawn and the candidate held until the e-mail is fixed")
        #expect(try await env.store().holds(opportunityId: bad).map(\.reason) == ["invalid_email"])
        await tick()
        let again = try await env.pass()
        #expect(again.actions.isEmpty)
        #expect(await env.hubert.requestLog.filter { $0 == "POST /v1/interviews" }.count == 2)
    }

    @Test func aDeletedOpportunityIsForgottenQuietlyAndOtherResultsAreWritten() async throws {
        let env = try await TestEnvironment()
        let posting = try await EndToEndTests.baseline(env)
        let gone = await env.lever.addOpportunity(name: "Gone Soon", emails: ["g@example.com"], posting: posting)
        let stays = await env.lever.addOpportunity(name: "Stays Here", emails: ["s@example.com"], posting: posting)
        _ = try await env.pass()
        await tick()
        for id in [gone, stays] {
            if let interview = await env.interviews(id).first {
                await env.hubert.complete(interview.id, grade: .passed, score: 60)
            }
        }
        await env.lever.delete(gone)
        let report = try await env.pass()
        #expect(report.exitCode == 0)
        #expect(!report.problems.contains { $0.opportunityId == gone }, "erasure stays erased: \(report.problems)")
        #expect(await env.lever.notesOf(stays).count == 1)
        #expect(await env.lever.opportunity(stays)?.tags == ["Hubert: Passed"])
        // Hubert still lists the interview; later passes skip it quietly and no row names the opportunity again.
        await tick()
        let later = try await env.pass()
        #expect(later.exitCode == 0)
        #expect(!later.problems.contains { $0.opportunityId == gone })
        #expect(
            !(try await env.databaseSnapshot()).contains(gone), "no row of the database names a deleted opportunity")
    }
}
