import Foundation

/// Observe, first part: the ids a pass needs from names in the configuration (stages, the perform-as user), cached
/// in the store for `sync.cacheMinutes`.
extension SyncEngine {
    /// Resolves stage names and the perform-as user to ids (from the store's cache while it is fresh).
    func resolveContext(dryRun: Bool) async throws -> PassContext {
        var stages = try await cachedStages(dryRun: dryRun, force: false)
        if !configuredStagesResolve(in: stages) { stages = try await cachedStages(dryRun: dryRun, force: true) }
        func stageId(_ nameOrId: String, key: String) throws -> String {
            if let stage = StageResolver.resolve(nameOrId, in: stages) { return stage }
            throw PassAbort.configuration("\(key): no Lever stage named or with id \"\(nameOrId)\"")
        }
        var newApplicant = StageResolver.resolve(config.newApplicantStage, in: stages)
        if newApplicant == nil && config.newApplicantStage == AppConfig.Defaults.newApplicantStage {
            newApplicant = "applicant-new"
        }
        guard let newApplicantStageId = newApplicant else {
            throw PassAbort.configuration("sync.newApplicantStage: no Lever stage named or with id \"\(config.newApplicantStage)\"")
        }
        var autoMove: [HubertGrade: String] = [:]
        for grade in HubertGrade.allCases {
            if let stage = config.autoMove[grade] { autoMove[grade] = try stageId(stage, key: "autoMove") }
        }
        var byPosting: [String: [HubertGrade: String]] = [:]
        for (posting, grades) in config.autoMoveByPosting {
            for grade in HubertGrade.allCases {
                if let stage = grades[grade] { byPosting[posting, default: [:]][grade] = try stageId(stage, key: "autoMove.postings.\(posting)") }
            }
        }
        let performAs = try await resolvePerformAs(dryRun: dryRun)
        return PassContext(newApplicantStageId: newApplicantStageId, performAs: performAs, autoMove: autoMove,
                           autoMoveByPosting: byPosting)
    }

    /// The account's stages, cached in the store for `cacheMinutes`.
    func cachedStages(dryRun: Bool, force: Bool) async throws -> [LeverStage] {
        struct Cached: Codable { var id: String; var text: String }
        let now = clock()
        if !force, let text = try await store.cachedLookup("lever.stages", freshAfter: now - cacheMs),
           let cached = try? JSONDecoder().decode([Cached].self, from: Data(text.utf8)) {
            return cached.map { LeverStage(id: $0.id, text: $0.text) }
        }
        let stages = try await lever.stages()
        if !dryRun, let data = try? JSONEncoder().encode(stages.map { Cached(id: $0.id, text: $0.text) }) {
            try await store.cacheLookup("lever.stages", value: String(decoding: data, as: UTF8.self), now: now)
        }
        return stages
    }

    /// Whether every stage the configuration names is among `stages`.
    func configuredStagesResolve(in stages: [LeverStage]) -> Bool {
        var names = [config.newApplicantStage]
        for grade in HubertGrade.allCases { if let s = config.autoMove[grade] { names.append(s) } }
        for grades in config.autoMoveByPosting.values { for grade in HubertGrade.allCases { if let s = grades[grade] { names.append(s) } } }
        return names.allSatisfy { StageResolver.resolve($0, in: stages) != nil }
    }

    /// The Lever user id writes are made as (`performAs` may be an id or an e-mail address), by the same rules as
    /// `check` (`PerformAsResolver`: never a deactivated user), cached like stages.
    func resolvePerformAs(dryRun: Bool) async throws -> String? {
        guard let performAs = config.lever.performAs else { return nil }
        let key = "lever.performAs." + Planner.fingerprintHash(performAs.lowercased())
        let now = clock()
        if let cached = try await store.cachedLookup(key, freshAfter: now - cacheMs) { return cached }
        let id = try await PerformAsResolver.resolve(performAs, lever: lever)
        if !dryRun { try await store.cacheLookup(key, value: id, now: now) }
        return id
    }
}
