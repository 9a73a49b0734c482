import Foundation

/// Counts of one pass, as in `--json` (`counts`).
public struct PassCounts: Codable, Sendable, Equatable {
    public var postingsScanned = 0
    public var opportunitiesScanned = 0
    public var invitationsSent = 0
    public var resultsApplied = 0
    public var tagsAdded = 0
    public var tagsRemoved = 0
    public var notesAdded = 0
    public var linksAdded = 0
    public var stageMoves = 0
    public var skipped = 0
    public var failed = 0
    public init() {}

    /// Nothing sent, written, skipped or failed.
    public var isIdle: Bool { Self.fields.allSatisfy { !$0.isActivity || $0.value(self) == 0 } }

    /// One count, named once for every place that lists them: the metrics, the store's lifetime counters, idleness.
    public struct Field: Sendable {
        /// Its name in the metrics (`kind="…"`) and among the store's counters.
        public var name: String
        public var value: @Sendable (PassCounts) -> Int
        /// Something the pass did (not a scan): a pass with none of them is idle.
        public var isActivity: Bool
        /// Kept over the database's life (`lever_hubert_sync_<name>_total`), with this help text; nil when not.
        public var lifetimeHelp: String?
    }

    /// Every count, in the order `--json` shows them.
    public static let fields: [Field] = [
        Field(name: "postings_scanned", value: \.postingsScanned, isActivity: false),
        Field(name: "opportunities_scanned", value: \.opportunitiesScanned, isActivity: false),
        Field(
            name: "invitations_sent", value: \.invitationsSent, isActivity: true,
            lifetimeHelp: "Invitations sent to Hubert, over the database's life."),
        Field(
            name: "results_applied", value: \.resultsApplied, isActivity: true,
            lifetimeHelp: "Results written back to Lever."),
        Field(
            name: "tags_added", value: \.tagsAdded, isActivity: true, lifetimeHelp: "Grade tags added in Lever."),
        Field(
            name: "tags_removed", value: \.tagsRemoved, isActivity: true,
            lifetimeHelp: "Stale grade tags removed in Lever."),
        Field(name: "notes_added", value: \.notesAdded, isActivity: true, lifetimeHelp: "Notes written to Lever."),
        Field(
            name: "links_added", value: \.linksAdded, isActivity: true,
            lifetimeHelp: "Application links added in Lever."),
        Field(
            name: "stage_moves", value: \.stageMoves, isActivity: true,
            lifetimeHelp: "Opportunities moved to a stage."),
        Field(name: "skipped", value: \.skipped, isActivity: true),
        Field(
            name: "failed", value: \.failed, isActivity: true,
            lifetimeHelp: "Items that failed in a pass (each is a problem)."),
    ]

    /// The counts by name, in order.
    public var named: [(name: String, value: Int)] { Self.fields.map { ($0.name, $0.value(self)) } }
}
