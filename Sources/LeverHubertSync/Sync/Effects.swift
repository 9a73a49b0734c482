import Foundation

/// One invitation the rules decided on, ready to be sent.
struct PlannedInvitation: Sendable {
    var opportunity: LeverOpportunity
    var posting: TaggedPosting
    var candidate: HubertCandidate
    /// The intent is in the ledger already (an earlier pass recorded it and never saw the answer).
    var intentRecorded: Bool
    /// What made the candidate due (kept with a hold when Hubert refuses for a cause a later edit can change).
    var trigger: Millis? = nil

    var action: Action {
        .invite(opportunityId: opportunity.id, postingId: posting.postingId, templateId: posting.templateId)
    }
}

/// One result's write-back the rules decided on: its actions, in order, and what the ledger keys them by.
struct PlannedWriteBack: Sendable {
    var interview: HubertInterview
    var result: HubertResult
    var opportunityId: String
    var postingId: String?
    var fingerprint: String
    var marker: String
    /// An earlier version of this result was written back (the note says it is a regrade).
    var regrade: Bool
    var actions: [Action]
    var context: PassContext
}

/// The one seam between deciding and doing. Observing and planning are the same code for every pass; what a pass
/// changes — the store, Lever, Hubert — goes through the `Effects` it was given, chosen once where the pass is
/// assembled (`SyncEngine.run`): `LiveEffects` for a run, `DryRunEffects` for `--dry-run`.
protocol Effects: Sendable {
    /// A write to the store: the ledger, caches, the postings snapshot, the funnel, the run history — with the reads
    /// only such a write needs (Lever's list of deleted opportunities for the purge), which a dry run skips too.
    func record(_ write: () async throws -> Void) async throws
    /// Sends one invitation.
    func invite(_ invitation: PlannedInvitation, collector: PassCollector) async throws
    /// Writes one result back to Lever.
    func writeBack(_ writeBack: PlannedWriteBack, collector: PassCollector) async throws
}

/// A run: every write through the ledger — intent recorded, request sent, outcome recorded — and every action in
/// the report once it is done.
struct LiveEffects: Effects {
    let engine: SyncEngine

    func record(_ write: () async throws -> Void) async throws { try await write() }

    func invite(_ invitation: PlannedInvitation, collector: PassCollector) async throws {
        try await engine.sendInvitation(invitation, collector: collector)
    }

    func writeBack(_ writeBack: PlannedWriteBack, collector: PassCollector) async throws {
        try await engine.applyWriteBack(writeBack, collector: collector)
    }
}

/// A dry run: the same plan, reported action by action; nothing is sent and nothing is stored (the store is opened
/// read-only as well).
struct DryRunEffects: Effects {
    func record(_ write: () async throws -> Void) async throws {}

    func invite(_ invitation: PlannedInvitation, collector: PassCollector) async throws {
        await collector.add(invitation.action)
    }

    func writeBack(_ writeBack: PlannedWriteBack, collector: PassCollector) async throws {
        for action in writeBack.actions { await collector.add(action) }
        if !writeBack.actions.isEmpty { await collector.resultApplied() }
    }
}
