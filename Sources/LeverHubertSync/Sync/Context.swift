import Foundation

/// Observe, first part: the ids a pass needs from names in the configuration (stages, the perform-as user), cached
/// in the store for `sync.cacheMinutes`.
extension SyncEngine {
    /// Resolves stage names and the perform-as user to ids (from the store's cache while it is fresh).
    func resolveContext(effects: any Effects) async throws -> PassContext {
        let configured = config.configuredStages
        var stages = try await cachedStages(effects: effects, force: false)
        if !configured.allSatisfy({ StageResolver.resolve($0.nameOrId, in: stages) != nil }) {
            stages = try await cachedStages(effects: effects, force: true)
        }
        var context = PassContext(newApplicantStageId: "", performAs: nil, autoMoves: AutoMoves())
        for stage in configured {
            var id = StageResolver.resolve(stage.nameOrId, in: stages)
            if id == nil, stage.grade == nil, stage.nameOrId == AppConfig.Defaults.newApplicantStage {
                id = "applicant-new"
            }
            guard let id else {
                throw PassAbort.configuration("\(stage.key): no Lever stage named or with id \"\(stage.nameOrId)\"")
            }
            switch (stage.grade, stage.postingId) {
            case (nil, _): context.newApplicantStageId = id
            case (let grade?, nil): context.autoMoves.byGrade[grade] = id
            case (let grade?, let posting?): context.autoMoves.byPosting[posting, default: [:]][grade] = id
            }
        }
        context.performAs = try await resolvePerformAs(effects: effects)
        return context
    }

    /// The account's stages, cached in the store for `cacheMinutes`.
    func cachedStages(effects: any Effects, force: Bool) async throws -> [LeverStage] {
        struct Cached: Codable {
            var id: String
            var text: String
        }
        let now = clock()
        if !force, let text = try await store.cachedLookup("lever.stages", freshAfter: now - cacheMs),
            let cached = try? JSONDecoder().decode([Cached].self, from: Data(text.utf8))
        {
            return cached.map { LeverStage(id: $0.id, text: $0.text) }
        }
        let stages = try await lever.stages()
        if let data = try? JSONEncoder().encode(stages.map { Cached(id: $0.id, text: $0.text) }) {
            try await effects.record {
                try await store.cacheLookup("lever.stages", value: String(decoding: data, as: UTF8.self), now: now)
            }
        }
        return stages
    }

    /// The Lever user id writes are made as (`performAs` may be an id or an e-mail address), by the same rules as
    /// `check` (`PerformAsResolver`: never a deactivated user), cached like stages.
    func resolvePerformAs(effects: any Effects) async throws -> String? {
        guard let performAs = config.lever.performAs else { return nil }
        let key = "lever.performAs." + Planner.fingerprintHash(performAs.lowercased())
        let now = clock()
        if let cached = try await store.cachedLookup(key, freshAfter: now - cacheMs) { return cached }
        let id = try await PerformAsResolver.resolve(performAs, lever: lever)
        try await effects.record { try await store.cacheLookup(key, value: id, now: now) }
        return id
    }
}

/// Finds a stage by id, exact name, or name ignoring case.
public enum StageResolver {
    public static func resolve(_ nameOrId: String, in stages: [LeverStage]) -> String? {
        if let stage = stages.first(where: { $0.id == nameOrId }) { return stage.id }
        if let stage = stages.first(where: { $0.text == nameOrId }) { return stage.id }
        let folded = nameOrId.lowercased()
        return stages.first(where: { $0.text.lowercased() == folded })?.id
    }
}
