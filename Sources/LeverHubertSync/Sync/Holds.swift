import Foundation

/// Held-back candidates: how long they may still heal.
extension SyncEngine {
    /// Gives up the candidates held longer than `sync.holdDays`: each is reported once as `hold_given_up` and never
    /// invited by a pass again (a backfill still can). Not on the word of a clock found out of step.
    func giveUpHolds(started: Millis, effects: any Effects, collector: PassCollector) async throws {
        var given: [HoldRecord] = []
        try await effects.record { given = try await store.giveUpHolds(before: started - holdMs, now: started) }
        for hold in given {
            await collector.add(
                Problem(
                    opportunityId: hold.opportunityId, postingId: hold.postingId,
                    reason: ProblemReason.holdGivenUp.rawValue,
                    message: "opportunity \(hold.opportunityId) was held back (\(hold.reason)) for more than "
                        + "\(config.holdDays) days and is given up: no pass invites it now (a backfill still can)"))
        }
    }
}
