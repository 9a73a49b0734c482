import Foundation
import Logging

/// Record: what Lever deleted or anonymized is forgotten — hourly from Lever's list of deleted opportunities, and at
/// once when a pass meets a 404 or an anonymized opportunity.
extension SyncEngine {
    /// At most this long between two reads of Lever's deleted opportunities (an opportunity deleted in between is
    /// forgotten as soon as a pass meets its 404).
    static let deletedReadMs: Millis = 3_600_000

    /// Reads Lever's deleted opportunities since the last such read (minus the lookback) when it is an hour old, and
    /// purges what the store holds about them. The first read, and one after the clock stepped back, starts at the
    /// window.
    func purgeDeletedIfDue(windowStart: Millis, started: Millis, collector: PassCollector) async throws {
        let last = try await store.meta(.deletedReadAt)
        var since = windowStart
        if let last, last <= started {
            guard started - last >= Self.deletedReadMs else { return }
            since = min(windowStart, max(0, last - lookbackMs))
        }
        try await purgeDeleted(since: since, collector: collector, logger: logger)
        try await store.setMeta([.deletedReadAt: started])
    }

    /// Reads Lever's deleted opportunities since `since` and purges what the store holds about them.
    func purgeDeleted(since: Millis, collector: PassCollector, logger: Logger) async throws {
        var removed = 0
        try await lever.forEachDeletedPage(since: since) { page in
            let ids = page.items.map(\.id)
            for id in ids { await collector.erase(id) }
            removed += try await store.purge(opportunityIds: ids)
        }
        if removed > 0 { logger.info("purged deleted opportunities", metadata: ["rows": "\(removed)"]) }
    }

    /// Forgets an opportunity Lever no longer has: every row that names it goes, and nothing this pass found about
    /// it is recorded (erasure stays erased).
    func erase(_ opportunityId: String, effects: any Effects, collector: PassCollector) async throws {
        await collector.erase(opportunityId)
        try await effects.record { try await store.purge(opportunityIds: [opportunityId]) }
        logger.debug(
            "opportunity no longer in Lever: forgotten", metadata: ["lever.opportunity.id": "\(opportunityId)"])
    }
}
