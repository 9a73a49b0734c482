import Foundation

/// The result of `check`: a checklist a person can read, and one exit status (0, 75, 77 or 78).
public struct CheckReport: Codable, Sendable {
    /// How one item came out.
    public enum Status: String, Codable, Sendable {
        /// Verified.
        case ok
        /// Works, but a person should look (a key file readable by others, an unset variable offline).
        case warn
        /// Not verified, deliberately (another run holds the lock, nothing to try it on).
        case skipped
        /// Wrong: the exit status is not 0.
        case fail
    }

    /// One line of the checklist.
    public struct Item: Codable, Sendable {
        /// What was checked (`lever stages (View all stages)`, `stage autoMove.lead`).
        public var name: String
        /// False only for `fail`: kept for consumers of the first release's JSON.
        public var ok: Bool
        /// How it came out.
        public var status: Status
        /// What was found, for a person; never a secret.
        public var detail: String
        /// An item that passed (`ok`) or failed.
        public init(name: String, ok: Bool, detail: String) {
            self.init(name: name, status: ok ? .ok : .fail, detail: detail)
        }
        /// An item with any status.
        public init(name: String, status: Status, detail: String) {
            self.name = name
            self.ok = status != .fail
            self.status = status
            self.detail = detail
        }
    }
    /// The checklist, in the order the checks ran.
    public var items: [Item]
    /// 0 ready, 75 temporary (lock held), 77 a credential or permission refused, 78 configuration.
    public var exitCode: Int32
    /// The effective configuration with every secret redacted (`check --offline --json` only).
    public var configuration: [String: ConfigValue]?
    /// A report of items and its exit status.
    public init(items: [Item], exitCode: Int32, configuration: [String: ConfigValue]? = nil) {
        self.items = items
        self.exitCode = exitCode
        self.configuration = configuration
    }
}

/// Validates configuration, both credentials, each Lever permission the integration needs, the perform-as user,
/// the configured stages and every posting's Hubert tag, without writing anything.
public struct Checker: Sendable {
    let runtime: SyncRuntime
    let warnings: [String]

    /// A checker over the clients of `runtime`; `warnings` from loading the configuration are listed first.
    public init(runtime: SyncRuntime, warnings: [String] = []) {
        self.runtime = runtime
        self.warnings = warnings
    }

    /// Runs every check (reads only) and returns the checklist with one exit status.
    public func run() async -> CheckReport {
        var items: [CheckReport.Item] = [CheckReport.Item(name: "configuration", ok: true, detail: "loaded")]
        for warning in warnings { items.append(.init(name: "configuration warning", status: .warn, detail: warning)) }
        var exit: Int32 = 0
        func warn(_ name: String, _ detail: String) { items.append(.init(name: name, status: .warn, detail: detail)) }
        func fail(_ name: String, _ detail: String, code: Int32) {
            items.append(.init(name: name, ok: false, detail: detail))
            if exit == ExitStatus.ok.code || code == ExitStatus.credentialRefused.code { exit = code }
        }
        let lever = runtime.lever
        let config = runtime.config

        // Lever permissions, one read each.
        func probe(_ name: String, _ body: () async throws -> String) async -> Bool {
            do {
                items.append(.init(name: name, ok: true, detail: try await body()))
                return true
            } catch let abort as PassAbort {
                if case .credentialsRefused(let service, let status) = abort {
                    fail(
                        name,
                        "\(service.rawValue) refused the request (HTTP \(status)): the key lacks this permission or is invalid",
                        code: ExitStatus.credentialRefused.code)
                } else {
                    fail(name, abort.description, code: abort.exitCode)
                }
            } catch {
                fail(name, "\(error)", code: ExitStatus.configuration.code)
            }
            return false
        }

        var stages: [LeverStage] = []
        _ = await probe("lever stages (View all stages)") {
            stages = try await lever.stages()
            return "\(stages.count) stages"
        }
        var postings: [LeverPosting] = []
        _ = await probe("lever postings (View all postings)") {
            try await lever.forEachPostingPage { postings += $0.items }
            return "\(postings.count) postings"
        }
        _ = await probe("lever tags (View all tags)") {
            _ = try await lever.http.send(
                HTTPRequestMessage(method: .get, url: lever.baseURL + "/tags?limit=1"), mode: .idempotent)
            return "readable"
        }
        var sampleOpportunity: String?
        _ = await probe("lever opportunities (View and manage all opportunities)") {
            // One request: the first page of one. Never the whole list (100,000 opportunities take hours, hold the
            // lock and spend the key's shared budget).
            let page = try await lever.http.getDecoded(
                LeverPage<LeverOpportunity>.self, url: lever.baseURL + "/opportunities?limit=1",
                what: "/opportunities", scope: .pass)
            sampleOpportunity = page.items.first?.id
            return "readable"
        }
        if let id = sampleOpportunity {
            _ = await probe("lever notes (View and manage all candidates' notes)") {
                "\(try await lever.notes(opportunityId: id).count) notes on a sample opportunity"
            }
            _ = await probe("lever applications (View all candidates' applications)") {
                _ = try await lever.http.send(
                    HTTPRequestMessage(method: .get, url: lever.baseURL + "/opportunities/\(id)/applications"),
                    mode: .idempotent)
                return "readable"
            }
        } else {
            items.append(
                .init(
                    name: "lever notes and applications", status: .skipped,
                    detail: "no opportunity to try them on"))
        }
        if let performAs = config.lever.performAs {
            _ = await probe("lever users / perform-as user") {
                "resolves to active user \(try await PerformAsResolver.resolve(performAs, lever: lever))"
            }
        } else {
            warn("lever users / perform-as user", "lever.performAs is not set: writes are made without perform_as")
        }
        if !stages.isEmpty {
            for (key, value) in config.configuredStages.map({ ($0.key, $0.nameOrId) }) {
                if let id = StageResolver.resolve(value, in: stages) {
                    items.append(.init(name: "stage \(key)", ok: true, detail: "\"\(value)\" is stage \(id)"))
                } else if key == "sync.newApplicantStage" && value == AppConfig.Defaults.newApplicantStage {
                    items.append(
                        .init(name: "stage \(key)", ok: true, detail: "not listed; falls back to applicant-new"))
                } else {
                    fail(
                        "stage \(key)", "no Lever stage named or with id \"\(value)\"",
                        code: ExitStatus.configuration.code)
                }
            }
        }

        // Hubert credential and every posting's tag.
        var hubertChecked = false
        var templateStatus: [String: String] = [:]
        for posting in postings.sorted(by: { $0.id < $1.id }) {
            switch Planner.hubertTemplate(tags: posting.tags) {
            case .none: continue
            case .invalid(let reason, let message):
                fail(
                    "posting \(posting.id) (\(posting.text ?? ""))", "\(reason): \(message)",
                    code: ExitStatus.configuration.code)
            case .template(let template):
                if templateStatus[template] == nil {
                    let ok = await probe("hubert template \(template)") {
                        let found = try await runtime.hubert.template(id: template)
                        templateStatus[template] = found?.status ?? "missing"
                        return found.map { "\($0.name ?? "unnamed"), \($0.status)" } ?? "unknown to Hubert"
                    }
                    hubertChecked = hubertChecked || ok
                }
                let status = templateStatus[template] ?? "unchecked"
                if status == "active" {
                    items.append(
                        .init(
                            name: "posting \(posting.id) (\(posting.text ?? ""))", ok: true,
                            detail: "template \(template) active"))
                } else {
                    fail(
                        "posting \(posting.id) (\(posting.text ?? ""))", "template \(template) is \(status)",
                        code: ExitStatus.configuration.code)
                }
            }
        }
        if !hubertChecked {
            _ = await probe("hubert credential") {
                // One request, never every interview.
                _ = try await runtime.hubert.http.getDecoded(
                    HubertInterviewPage.self, url: runtime.hubert.baseURL + "/interviews?status=completed&limit=1",
                    what: "/interviews", scope: .pass)
                return "accepted"
            }
        }
        for item in await grantItems() {
            if item.status == .fail {
                fail(item.name, item.detail, code: ExitStatus.credentialRefused.code)
            } else {
                items.append(item)
            }
        }
        return CheckReport(items: items, exitCode: exit)
    }
}
