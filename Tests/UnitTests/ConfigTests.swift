import Foundation
import Testing

@testable import LeverHubertSync

@Suite struct ConfigTests {
    let keys = ["LEVER_API_KEY": "lk", "HUBERT_API_KEY": "hk"]

    @Test func emptyFileEqualsDefaults() throws {
        #expect(try ConfigLoader.parse(yaml: "{}") == ConfigFile())
        #expect(try ConfigLoader.parse(yaml: "") == ConfigFile())
        let config = try ConfigLoader.resolve(ConfigFile(), environment: keys).config
        #expect(config.lever.baseURL == AppConfig.Defaults.leverBaseURL)
        #expect(config.hubert.baseURL == AppConfig.Defaults.hubertBaseURL)
        #expect(config.lever.requestsPerSecond == 8)
        #expect(config.newApplicantStage == "New applicant")
        #expect(config.lookbackMinutes == 10)
        #expect(config.databasePath == "lever-hubert-sync.sqlite3")
        #expect(config.autoMove == GradeStages())
    }

    @Test func theContractExampleParses() throws {
        let yaml = """
            lever:
              baseURL: https://api.lever.co/v1
              apiKey: ${LEVER_API_KEY}
              performAs: sync-bot@example.com
              requestsPerSecond: 8
            hubert:
              baseURL: https://api.hubert.ai
              apiKey: ${HUBERT_API_KEY}
            sync:
              newApplicantStage: New applicant
              lookbackMinutes: 10
            autoMove:
              lead: Phone screen
              passed: null
              notQualified: null
              postings:
                f2f01e16-27f8-4711-a728-7d49499795a0:
                  lead: Onsite interview
            database:
              path: lever-hubert-sync.sqlite3
            """
        let config = try ConfigLoader.resolve(ConfigLoader.parse(yaml: yaml), environment: keys).config
        #expect(config.lever.apiKey?.value == "lk")
        #expect(config.hubert.apiKey.value == "hk")
        #expect(config.autoMove.lead == "Phone screen")
        #expect(config.autoMove.passed == nil)
        #expect(config.autoMoveByPosting["f2f01e16-27f8-4711-a728-7d49499795a0"]?.lead == "Onsite interview")
        #expect("\(config.lever.apiKey!)" == "<redacted>")
        #expect(!"\(config.lever)".contains("lk"), "a secret never shows through string interpolation")
    }

    @Test func environmentOverridesTheFile() throws {
        var file = ConfigFile()
        file.lever = try ConfigLoader.parse(yaml: "lever:\n  baseURL: https://a.example/v1\n  apiKey: inline").lever
        let env = keys.merging(["LEVER_BASE_URL": "http://127.0.0.1:9/v1", "LHS_DATABASE": "/tmp/x.sqlite3"]) { $1 }
        let config = try ConfigLoader.resolve(file, environment: env).config
        #expect(config.lever.baseURL == "http://127.0.0.1:9/v1")
        #expect(config.lever.apiKey?.value == "lk")
        #expect(config.databasePath == "/tmp/x.sqlite3")
    }

    @Test func unsetVariableIsAnErrorNamingIt() throws {
        let file = try ConfigLoader.parse(yaml: "lever:\n  apiKey: ${NOPE_NOT_SET}\nhubert:\n  apiKey: x")
        #expect(throws: ConfigError.self) { try ConfigLoader.resolve(file, environment: [:]) }
        do {
            _ = try ConfigLoader.resolve(file, environment: [:])
        } catch {
            #expect("\(error)".contains("NOPE_NOT_SET"))
        }
    }

    @Test(
        "http only for loopback",
        arguments: [
            ("http://127.0.0.1:8080/v1", true), ("http://localhost/v1", true), ("http://[::1]:80/v1", true),
            ("https://api.lever.co/v1", true), ("http://api.lever.co/v1", false), ("http://10.0.0.1/v1", false),
            ("ftp://x/v1", false), ("not a url", false),
        ])
    func baseURLs(url: String, accepted: Bool) {
        let ok = (try? ConfigLoader.validateBaseURL(url, key: "k")) != nil
        #expect(ok == accepted)
    }

    @Test func missingKeyIsAConfigurationError() {
        #expect(throws: ConfigError.self) { try ConfigLoader.resolve(ConfigFile(), environment: [:]) }
    }

    @Test func apiKeyFileIsReadAndLooseModeWarns() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)").path
        try "file-key\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        let file = try ConfigLoader.parse(yaml: "lever:\n  apiKeyFile: \(path)\nhubert:\n  apiKey: h")
        let (config, warnings) = try ConfigLoader.resolve(file, environment: [:])
        #expect(config.lever.apiKey?.value == "file-key")
        #expect(warnings.contains { $0.contains("readable by other users") })
        chmod(path, 0o440)
        #expect(
            try ConfigLoader.resolve(file, environment: [:]).warnings.isEmpty, "a Secret mounted with fsGroup (0440)")
        chmod(path, 0o600)
        #expect(try ConfigLoader.resolve(file, environment: [:]).warnings.isEmpty)
    }
}

@Suite struct WireFormatTests {
    @Test func rfc3339RoundTrips() {
        let ms: Millis = 1_795_696_867_512
        #expect(RFC3339.format(ms) == "2026-11-26T12:41:07.512Z")
        #expect(RFC3339.parse("2026-11-26T12:41:07.512Z") == ms)
        #expect(RFC3339.parse("2026-11-26T13:41:07.512+01:00") == ms)
        #expect(RFC3339.parse("2026-11-26T12:41:07Z") == ms - 512)
        #expect(RFC3339.parse("garbage") == nil)
    }

    @Test func repeatedKeysAndEncoding() {
        var q = QueryString()
        q.add("posting_id", "a")
        q.add("posting_id", "b")
        q.add("tag", "Hubert: 61f0")
        #expect(q.encoded == "posting_id=a&posting_id=b&tag=Hubert%3A%2061f0")
    }

    @Test func offsetTokenIsNeverEncodedTwice() {
        var q = QueryString()
        q.addToken("offset", "%5B1628543173558%2C%227bf8%22%5D")
        #expect(q.encoded == "offset=%5B1628543173558%2C%227bf8%22%5D")
        var plain = QueryString()
        plain.addToken("offset", "0.1414895548650.a6070140-33db-407c-91f5-2760e15c8e94")
        #expect(plain.encoded == "offset=0.1414895548650.a6070140-33db-407c-91f5-2760e15c8e94")
        var raw = QueryString()
        raw.addToken("offset", "[1,\"a b\"]&x")
        #expect(raw.encoded == "offset=%5B1%2C%22a%20b%22%5D%26x")
    }

    @Test func retryAfterIsAFloorAndBackoffIsBounded() {
        var policy = RetryPolicy()
        policy.baseDelayMs = 100
        policy.maxDelayMs = 400
        for attempt in 1...8 {
            let d = ServiceClient.backoff(attempt: attempt, policy: policy, floor: nil)
            #expect(d <= .milliseconds(400))
            let floored = ServiceClient.backoff(attempt: attempt, policy: policy, floor: .seconds(2))
            #expect(floored >= .seconds(2))
        }
        #expect(ServiceClient.retryAfter("3") == .seconds(3))
        #expect(ServiceClient.retryAfter(nil) == nil)
    }

    @Test func idempotencyKeyIsDeterministic() {
        let a = HubertClient.idempotencyKey(opportunityId: "o", templateId: "t")
        #expect(a == HubertClient.idempotencyKey(opportunityId: "o", templateId: "t"))
        #expect(a != HubertClient.idempotencyKey(opportunityId: "o", templateId: "u"))
        #expect(a.count <= 255)
    }
}

@Suite struct HubertWireTests {
    @Test func anInvitationBodySendsAbsentValuesAsNull() throws {
        struct Body: Encodable {
            var candidate: HubertCandidate
            var externalReference: HubertExternalReference
        }
        let data = try JSONEncoder().encode(
            Body(
                candidate: HubertCandidate(firstName: "Cher", lastName: nil, email: "c@example.com", phoneNumber: nil),
                externalReference: HubertExternalReference(opportunityId: "o", postingId: nil)))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let candidate = try #require(json["candidate"] as? [String: Any])
        #expect(candidate["lastName"] is NSNull)
        #expect(candidate["phoneNumber"] is NSNull)
        #expect(candidate["firstName"] as? String == "Cher")
        #expect((json["externalReference"] as? [String: Any])?["source"] as? String == "lever")
    }

    @Test func interviewsDecodeAsTheContractShowsThem() throws {
        let json = """
            {"data": {"id": "iv_01JD2X8Q4J6S4ZB3TQ7N5W9K1C", "templateId": "61f080d9414018eda48a7380",
              "externalReference": {"source": "lever", "opportunityId": "250d8f03-738a-4bba-a671-8a3d73477145", "postingId": "f2f01e16-27f8-4711-a728-7d49499795a0"},
              "candidate": {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "phoneNumber": null},
              "status": "completed", "invitedAt": "2026-11-26T10:00:00.000Z", "completedAt": "2026-11-26T12:41:07.512Z",
              "updatedAt": "2026-11-26T12:41:07.512Z", "newField": {"x": 1},
              "result": {"grade": "lead", "score": 82.5, "threshold": 70, "applicationUrl": "https://app.hubert.ai/applications/iv_01JD2X8Q4J6S4ZB3TQ7N5W9K1C",
                         "summaryUrl": "https://app.hubert.ai/applications/iv_01JD2X8Q4J6S4ZB3TQ7N5W9K1C/summary"}}}
            """
        let interview = try JSONDecoder().decode(HubertEnvelope<HubertInterview>.self, from: Data(json.utf8)).data
        #expect(interview.isCompleted)
        #expect(interview.result?.grade == .lead)
        #expect(interview.result?.score == 82.5)
        #expect(interview.updatedAt == RFC3339.parse("2026-11-26T12:41:07.512Z"))
        #expect(interview.externalReference?.opportunityId == "250d8f03-738a-4bba-a671-8a3d73477145")
    }
}

@Suite struct StrictConfigTests {
    func message(_ yaml: String) -> String? {
        do {
            _ = try ConfigLoader.parse(yaml: yaml)
            return nil
        } catch { return "\(error)" }
    }

    @Test func aYAMLSyntaxErrorNamesLineAndColumnButNeverTheLineText() {
        let yaml = "lever:\n  performAs: x\n  apiKey: sk-FAKE-7f3a9c: [\nhubert:\n  apiKey: y\n"
        let text = message(yaml) ?? ""
        #expect(text.hasPrefix("configuration file: YAML syntax error at line 3, column "), "\(text)")
        #expect(!text.contains("sk-FAKE-7f3a9c"))
        #expect(!text.contains("apiKey"))
    }

    @Test func aDuplicateKeyIsASyntaxErrorWithoutTheDocument() {
        let text = message("hubert:\n  apiKey: one-secret-value\n  apiKey: two-secret-value\n") ?? ""
        #expect(text.contains("YAML syntax error at line"), "\(text)")
        #expect(!text.contains("secret-value"))
    }

    @Test func aProblemThatQuotesTheDocumentIsReplaced() {
        #expect(
            YAMLSyntax.sanitized("found sk-FAKE-7f3a9c here", yaml: "a: sk-FAKE-7f3a9c")
                == "the text there is not valid YAML")
        #expect(YAMLSyntax.sanitized("could not find expected ':'", yaml: "a: b") == "could not find expected ':'")
    }

    @Test(
        "unknown keys are refused by full path, with the nearest key",
        arguments: [
            ("sync:\n  newApplicantStag: x", "sync.newApplicantStag: unknown key; did you mean newApplicantStage?"),
            ("lever:\n  apikey: x", "lever.apikey: unknown key; did you mean apiKey?"),
            ("levr:\n  apiKey: x", "levr: unknown key; did you mean lever?"),
            (
                "lever:\n  oauth:\n    clientSecrt: x",
                "lever.oauth.clientSecrt: unknown key; did you mean clientSecret?"
            ),
            ("sync:\n  retry:\n    budgett: 3", "sync.retry.budgett: unknown key; did you mean budget?"),
            (
                "autoMove:\n  postings:\n    p-1:\n      leed: Onsite",
                "autoMove.postings.p-1.leed: unknown key; did you mean lead?"
            ),
            ("database:\n  completelyDifferent: 1", "database.completelyDifferent: unknown key"),
            ("sync:\n  lookback: 5", "sync.lookback: unknown key; did you mean lookbackMinutes?"),
        ])
    func unknownKey(yaml: String, expected: String) {
        #expect(message(yaml) == expected)
    }

    @Test func freeFormPostingIdsAndNullsAreAccepted() throws {
        let yaml =
            "autoMove:\n  passed: null\n  postings:\n"
            + "    any-id-1:\n      lead: A\n    any-id-2:\n      lead: null\n"
        let file = try ConfigLoader.parse(yaml: yaml)
        #expect(file.autoMove?.postings?["any-id-1"]?.lead == "A")
    }

    @Test func aWrongTypeNamesTheKeyNotTheValue() {
        #expect(message("sync:\n  lookbackMinutes: sk-FAKE-secret") == "sync.lookbackMinutes: expected a whole number")
        #expect(message("sync:\n  paused: maybe-secret") == "sync.paused: expected true or false")
        #expect(
            message("autoMove:\n  postings:\n    p-1:\n      lead: [a, b]")
                == "autoMove.postings.p-1.lead: expected text")
        #expect(message("lever: [sk-FAKE-in-a-list]") == "lever: expected a mapping of keys")
        #expect(message("- a\n- b") == "configuration file: the top level must be a mapping of keys")
    }

    @Test func everyKeyTheTestsAndTheDemoWriteIsKnown() throws {
        let leaves = Set(ConfigKeyTree.file.leaves.map(\.path))
        for path in [
            "lever.baseURL", "lever.apiKey", "lever.performAs", "lever.requestsPerSecond", "lever.burst",
            "hubert.baseURL", "hubert.apiKey", "hubert.requestsPerSecond", "hubert.burst",
            "sync.lookbackMinutes",
            "sync.concurrency", "sync.retry.maxAttempts", "sync.retry.baseDelayMs", "sync.retry.maxDelayMs",
            "sync.retry.budget", "autoMove.lead", "autoMove.passed", "autoMove.postings.*.lead",
            "database.path",
            "healthcheck.url", "lever.oauth.clientId", "lever.oauth.clientSecret", "lever.oauth.refreshToken",
            "lever.oauth.tokenURL", "lever.oauth.tokenFile",
        ] {
            #expect(leaves.contains(path), "\(path)")
        }
    }
}

@Suite struct LeverBaseURLTests {
    @Test(
        "a Lever base URL without /v1 gets it; another path is refused",
        arguments: [
            ("https://api.lever.co", "https://api.lever.co/v1"), ("https://api.lever.co/", "https://api.lever.co/v1"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"),
            ("https://api.lever.co/v1", "https://api.lever.co/v1"),
            ("https://api.lever.co/v1/", "https://api.lever.co/v1"),
            ("https://proxy.example/lever/v1", "https://proxy.example/lever/v1"),
            ("https://api.lever.co/v2", nil), ("https://api.lever.co/api", nil), ("https://api.lever.co/v1?x=1", nil),
        ] as [(String, String?)])
    func normalized(input: String, expected: String?) {
        #expect((try? ConfigLoader.leverAPIBase(input)) == expected)
    }

    @Test func theFileAndTheEnvironmentAreBothNormalizedAndChecked() throws {
        let keys = ["LEVER_API_KEY": "lk", "HUBERT_API_KEY": "hk"]
        let file = try ConfigLoader.parse(yaml: "lever:\n  baseURL: https://api.lever.co")
        #expect(try ConfigLoader.resolve(file, environment: keys).config.lever.baseURL == "https://api.lever.co/v1")
        let env = keys.merging(["LEVER_BASE_URL": "http://127.0.0.1:9"]) { $1 }
        #expect(try ConfigLoader.resolve(file, environment: env).config.lever.baseURL == "http://127.0.0.1:9/v1")
        do {
            let v2 = keys.merging(["LEVER_BASE_URL": "https://api.lever.co/v2"]) { $1 }
            _ = try ConfigLoader.resolve(file, environment: v2)
            Issue.record("a /v2 path was accepted")
        } catch {
            #expect("\(error)".contains("lever.baseURL"))
            #expect("\(error)".contains("LEVER_BASE_URL"))
        }
    }
}

@Suite struct YAMLSyntaxPositionTests {
    @Test func anUnterminatedQuoteNamesTheLineWhereItBeganNotOnlyTheEndOfTheFile() {
        var text = ""
        do {
            _ = try ConfigLoader.parse(yaml: "lever:\n  apiKey: \"sk-FAKE-unterminated\nhubert:\n  apiKey: x\n")
        } catch {
            text = "\(error)"
        }
        #expect(text.contains("that begins at line 2, column 11"), "\(text)")
        #expect(!text.contains("sk-FAKE"))
    }
}
