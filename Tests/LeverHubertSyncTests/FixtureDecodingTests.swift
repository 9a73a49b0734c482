import Foundation
import Testing

@testable import LeverHubertSync

/// Every real Lever response in shared/fixtures decodes; the messy ones keep their meaning.
@Suite struct FixtureDecodingTests {
    static func fixture(_ name: String) throws -> Data {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "json"))
        return try Data(contentsOf: url)
    }

    static let allFixtures: [String] = {
        let dir = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) }.sorted()
    }()

    /// Decodes a fixture as the type its name says it is; returns a short description of what it found.
    static func decode(_ name: String) throws -> String {
        let data = try fixture(name)
        let d = JSONDecoder()
        switch name {
        case "docs-create-note-response", "nango-create-note-response":
            return "note \(try #require(try d.decode(LeverEnvelope<LeverCreatedNote>.self, from: data).data.noteId))"
        case "docs-error-404", "docs-error-request-timeout", "golib-error-400-email-domain",
            "golib-error-404-stage-not-found", "golib-error-404-user-not-found":
            return "error \(try #require(try d.decode(LeverErrorBody.self, from: data).code))"
        case "docs-get-note", "nango-get-note":
            return "note \(try d.decode(LeverEnvelope<LeverNote>.self, from: data).data.id)"
        case "docs-get-opportunity", "nango-get-opportunity", "nango-add-links", "nango-add-tags",
            "nango-update-opportunity-stage":
            return "opportunity \(try d.decode(LeverEnvelope<LeverOpportunity>.self, from: data).data.id)"
        case "rubyspec-opportunity-expanded-applications-stage":
            return "opportunity \(try d.decode(LeverOpportunity.self, from: data).id)"
        case "docs-get-posting", "nango-get-posting", "nango-legacy-mock-get-posting-closed":
            return "posting \(try d.decode(LeverEnvelope<LeverPosting>.self, from: data).data.id)"
        case "docs-get-stage":
            return "stage \(try d.decode(LeverEnvelope<LeverStage>.self, from: data).data.id)"
        case "docs-get-user":
            return "user \(try d.decode(LeverEnvelope<LeverUser>.self, from: data).data.id)"
        case "docs-list-notes":
            return page(try d.decode(LeverPage<LeverNote>.self, from: data))
        case "docs-list-opportunities", "leverphp-opportunities-hasNext-false":
            return page(try d.decode(LeverPage<LeverOpportunity>.self, from: data))
        case "docs-list-postings", "nango-list-postings":
            return page(try d.decode(LeverPage<LeverPosting>.self, from: data))
        case "docs-list-stages", "nango-list-stages":
            return page(try d.decode(LeverPage<LeverStage>.self, from: data))
        case "docs-list-tags", "nango-list-tags":
            return page(try d.decode(LeverPage<LeverTag>.self, from: data))
        case "docs-list-users", "nango-list-users":
            return page(try d.decode(LeverPage<LeverUser>.self, from: data))
        case "nango-list-archive-reasons", "docs-webhook-candidateStageChange":
            // Shapes the tool never reads (it polls; it archives nobody): valid JSON is all that is asked.
            return "json \(try JSONSerialization.jsonObject(with: data) is [String: Any])"
        case "nango-list-opportunities-deleted":
            return page(try d.decode(LeverPage<LeverDeletedOpportunity>.self, from: data))
        case "docs-oauth-token-response":
            return "token expires in \(try #require(try d.decode(LeverOAuthToken.self, from: data).expiresIn))"
        default:
            Issue.record("fixture \(name) has no decoder in this test: add one")
            return ""
        }
    }

    static func page<T>(_ page: LeverPage<T>) -> String {
        "page of \(page.items.count) (failed \(page.failures.count)) hasNext=\(page.hasNext)"
    }

    @Test("every shared fixture decodes", arguments: allFixtures)
    func everyFixtureDecodes(_ name: String) throws {
        let summary = try Self.decode(name)
        #expect(!summary.isEmpty)
        if summary.hasPrefix("page of") {
            #expect(summary.contains("(failed 0)"), "an item of \(name) did not decode: \(summary)")
            #expect(
                !summary.hasPrefix("page of 0 ") || name == "nango-list-opportunities-deleted",
                "\(name) decoded no item")
        }
    }

    @Test func allThirtyFiveFixturesAreCovered() {
        #expect(Self.allFixtures.count == 35)
    }

    @Test func legacyTopLevelArchivedAtIsUnderstood() throws {
        let page = try JSONDecoder().decode(
            LeverPage<LeverOpportunity>.self, from: Self.fixture("docs-list-opportunities"))
        #expect(page.hasNext == false, "absent hasNext means the last page")
        #expect(page.next == nil)
        let first = try #require(page.items.first)
        #expect(first.isArchived == false)
        #expect(first.contactAllowed == false, "dataProtection.contact.allowed=false must be kept")
        #expect(first.stageId == "00922a60-7c15-422b-b086-f62000824fd7")
        #expect(page.items.count == 3)
    }

    @Test func archivedObjectAndStringStageIds() throws {
        let o = try JSONDecoder().decode(
            LeverEnvelope<LeverOpportunity>.self, from: Self.fixture("nango-get-opportunity")
        ).data
        #expect(o.isArchived)
        #expect(o.archivedAt == 1_782_973_996_415)
        #expect(o.stageId == "lead-reached-out")
        #expect(o.contactAllowed == nil)
        #expect(o.candidacy.enteredStage("lead-new") == 1_782_972_986_091)
    }

    @Test func expandedStageAndApplications() throws {
        let o = try JSONDecoder().decode(
            LeverOpportunity.self, from: Self.fixture("rubyspec-opportunity-expanded-applications-stage"))
        #expect(o.stageId == "lead-new")
        #expect(o.postingId == "685dd0f3-6b95-4bc9-ae32-658b808900ca")
        #expect(o.appliedAt == 1_578_336_284_203)
        #expect(o.updatedAt == nil)
        #expect(o.candidacy.enteredStage("lead-new") == 1_570_734_056_441, "the latest entry into a stage counts")
    }

    @Test func realNoteCreationAnswerCarriesNoteId() throws {
        let docs = try JSONDecoder().decode(
            LeverEnvelope<LeverCreatedNote>.self, from: Self.fixture("docs-create-note-response"))
        let real = try JSONDecoder().decode(
            LeverEnvelope<LeverCreatedNote>.self, from: Self.fixture("nango-create-note-response"))
        #expect(docs.data.noteId != nil)
        #expect(real.data.noteId != nil)
    }

    @Test func builtInStageIdsAreNotUUIDs() throws {
        let page = try JSONDecoder().decode(LeverPage<LeverStage>.self, from: Self.fixture("nango-list-stages"))
        #expect(StageResolver.resolve("New applicant", in: page.items) == "applicant-new")
        #expect(StageResolver.resolve("new APPLICANT", in: page.items) == "applicant-new")
        #expect(StageResolver.resolve("applicant-new", in: page.items) == "applicant-new")
    }

    @Test func anItemThatDoesNotDecodeIsNamedAndTheRestSurvive() throws {
        let json = """
            {"data": [{"id": "good", "name": "A", "emails": null, "stage": {"id": "x"}, "tags": [1, "t"], "applications": null},
                      {"name": "no id at all"},
                      {"id": 42},
                      {"id": "also-good", "archived": "weird", "dataProtection": [], "stageChanges": [null, {"toStageId": 5}]}],
             "hasNext": true, "next": "%5B1%2C%22a%22%5D", "unknown": {"deep": [1]}}
            """
        let page = try JSONDecoder().decode(LeverPage<LeverOpportunity>.self, from: Data(json.utf8))
        #expect(page.items.map(\.id) == ["good", "also-good"])
        #expect(page.failures.count == 2)
        #expect(page.items[0].tags == ["t"])
        #expect(page.items[0].stageId == "x")
        #expect(page.hasNext)
        #expect(page.next == "%5B1%2C%22a%22%5D")
    }
}
