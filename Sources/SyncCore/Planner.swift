import Foundation

/// A posting that takes part: it carries exactly one valid Hubert tag.
public struct TaggedPosting: Sendable, Equatable {
    public var postingId: String
    public var templateId: String
    /// When the current tagging period began; only applications after it are invited.
    public var firstSeen: Millis
    /// Every tagging period of the posting, in the order they began (any template).
    public var periods: [TaggingPeriod]
    /// A cause that holds back everyone on the posting (its template inactive or unknown at Hubert); nil while
    /// its candidates can be invited.
    public var postingHold: HoldReason?
    /// A live pass decides this posting's candidates from here rather than from its window's start: the first
    /// sighting of a malformed tag that is now corrected.
    public var decideFrom: Millis?
    /// A live pass reads this posting's opportunities from here rather than from its window's start: the earliest
    /// candidate held back for a posting-wide cause that has healed, or `decideFrom`.
    public var readFrom: Millis?
    /// The posting carries no Hubert tag now: only the templates of periods that ended inside the window are decided.
    public var closed = false
    public init(
        postingId: String, templateId: String, firstSeen: Millis, periods: [TaggingPeriod]? = nil,
        postingHold: HoldReason? = nil
    ) {
        self.postingId = postingId
        self.templateId = templateId
        self.firstSeen = firstSeen
        self.periods = periods ?? [TaggingPeriod(templateId: templateId, start: firstSeen)]
        self.postingHold = postingHold
    }
}

/// What a posting's tags say about Hubert.
public enum PostingTagVerdict: Sendable, Equatable {
    /// The template the tags name; nil when there is none or the tags are invalid.
    public var template: String? {
        if case .template(let id) = self { return id }
        return nil
    }

    /// No Hubert tag: the posting does not take part.
    case none
    /// Exactly one template.
    case template(String)
    /// A Hubert tag is malformed, or several templates are named: reported, nobody invited.
    case invalid(reason: ProblemReason, message: String)
}

/// The pure planning rules: observed state in, decisions out. No I/O; tested as tables.
public enum Planner {
    /// The prefix that marks a Hubert template tag on a posting.
    static let tagPrefix = "hubert:"

    /// Reads a posting's tags. `Hubert: <24 hex>` names a template (case of the prefix and hex, and spacing after
    /// the colon, are forgiven); the grade tags (`Hubert: Lead` …) are not template tags.
    public static func hubertTemplate(tags: [String]) -> PostingTagVerdict {
        var templates: [String] = []
        var malformed: [String] = []
        let gradeTags = Set(HubertGrade.allCases.map { $0.leverTag.lowercased() })
        for raw in tags {
            let tag = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard tag.lowercased().hasPrefix(tagPrefix), !gradeTags.contains(tag.lowercased()) else { continue }
            let id = tag.dropFirst(tagPrefix.count).trimmingCharacters(in: .whitespaces).lowercased()
            if id.count == 24 && id.allSatisfy({ $0.isHexDigit && $0.isASCII }) {
                if !templates.contains(id) { templates.append(id) }
            } else {
                malformed.append(tag)
            }
        }
        if templates.count > 1 {
            return .invalid(
                reason: .multipleHubertTags,
                message:
                    "posting carries \(templates.count) Hubert template tags (\(templates.joined(separator: ", "))); keep exactly one"
            )
        }
        if !malformed.isEmpty {
            let shown = malformed.map { String($0.prefix(80)) }.joined(separator: "\", \"")
            return .invalid(
                reason: .invalidHubertTag,
                message: "malformed Hubert tag \"\(shown)\"; expected \"Hubert: <24 hex characters>\"")
        }
        if let template = templates.first { return .template(template) }
        return .none
    }

    /// Erasure before every other rule: an opportunity anonymized in Lever is forgotten, whatever its window, posting
    /// or template — before anything else is asked about it.
    public static func mustForget(_ opportunity: Candidacy) -> Bool { opportunity.isAnonymized }

    // MARK: Time

    /// `lower...upper` that never traps: an upper bound below the lower one (a clock stepped back) is raised to it.
    public static func range(_ lower: Millis, _ upper: Millis) -> ClosedRange<Millis> { lower...max(lower, upper) }

    /// Where a live window starts: the checkpoint minus the lookback; or, when the checkpoint lies in the future
    /// (the clock ran ahead, then was stepped back), the last moment the database was in step with the present
    /// (`lastInStep`: the last clean pass that started at or before now), minus the lookback. Returns the start and,
    /// when the checkpoint lay ahead, by how much.
    public static func windowStart(checkpoint: Millis, now: Millis, lookbackMs: Millis, lastInStep: Millis?)
        -> (start: Millis, skewMs: Millis?)
    {
        if checkpoint <= now { return (max(0, checkpoint - lookbackMs), nil) }
        let anchor = min(lastInStep ?? now, now)
        return (max(0, anchor - lookbackMs), checkpoint - now)
    }

    /// When a posting seen with a Hubert tag for the first time counts as tagged: not before the previous checkpoint
    /// (the tag was not there then, or an earlier pass would have seen it) and not before the posting last changed
    /// (adding the tag changes it); never after now. The first pass on a database counts from now.
    public static func firstSeen(previousCheckpoint: Millis?, postingUpdatedAt: Millis?, now: Millis) -> Millis {
        guard let previousCheckpoint else { return now }
        return min(now, max(previousCheckpoint, postingUpdatedAt ?? previousCheckpoint))
    }

    /// Margin under Hubert's key memory (30 days) within which a repeated POST is certainly deduplicated by Hubert.
    static let hubertMemoryMarginDays: Int64 = 5

    /// Whether an invitation for this opportunity may have been sent longer ago than Hubert remembers
    /// Idempotency-Keys: any earlier invitation was sent after the opportunity was created, so an opportunity younger
    /// than that is safe to POST for with the deterministic key; an older one (or one of unknown age) is looked up
    /// in Hubert first.
    public static func mayPredateHubertMemory(_ opportunity: Candidacy, now: Millis) -> Bool {
        guard let born = [opportunity.createdAt, opportunity.appliedAt].compactMap({ $0 }).min() else { return true }
        let memory = (HubertMemory.idempotencyKeyLifetimeDays - hubertMemoryMarginDays) * 86_400_000
        return now - born > memory
    }

    /// Whether the opportunity already shows a write-back of a Hubert result (a grade tag, or this result's link):
    /// then a note may exist that the ledger does not know of (a restored backup) and the notes are read first.
    public static func showsEarlierWriteBack(_ opportunity: Candidacy, result: HubertResult) -> Bool {
        let gradeTags = Set(HubertGrade.allCases.map(\.leverTag))
        if opportunity.tags.contains(where: gradeTags.contains) { return true }
        if let url = result.applicationUrl, opportunity.links.contains(url) { return true }
        return false
    }

    /// The stage an opportunity stood in at `time`, from its stage history; nil when the history cannot say (then
    /// the sync never auto-moves it: a wrong move overrides a human).
    public static func stageAt(_ opportunity: Candidacy, time: Millis?) -> String? {
        guard let time else { return nil }
        let changes = opportunity.stageChanges.filter { $0.at != nil }
        guard !changes.isEmpty else { return nil }
        return changes.last(where: { ($0.at ?? .max) <= time })?.toStageId
    }

    // MARK: Notes

    /// A short stable hash (FNV-1a, 64 bit) in hex.
    public static func fingerprintHash(_ text: String) -> String { String(FNV1a.hash(text), radix: 16) }

    /// The marker that identifies the sync's note for one result version (searched for on read-back).
    public static func noteMarker(interviewId: String, fingerprint: String) -> String {
        "[lever-hubert-sync:\(interviewId):\(fingerprintHash(fingerprint))]"
    }

    /// A score as a recruiter reads it: no trailing ".0".
    static func format(_ value: Double?) -> String {
        guard let value else { return "n/a" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return String(format: "%.1f", value)
    }

    /// The note written for a result: grade, score, threshold, both links, and the marker.
    public static func noteText(_ result: HubertResult, interviewId: String, regrade: Bool) -> String {
        var lines = [
            regrade
                ? "Hubert AI interview regraded: \(result.grade.label)" : "Hubert AI interview: \(result.grade.label)"
        ]
        lines.append("Score: \(format(result.score)) (threshold \(format(result.threshold)))")
        if let url = result.applicationUrl { lines.append("Application: \(url)") }
        if let url = result.summaryUrl { lines.append("Summary: \(url)") }
        lines.append(noteMarker(interviewId: interviewId, fingerprint: result.fingerprint))
        return lines.joined(separator: "\n")
    }

    /// What the sync knows about one completed interview when it plans its write-back.
    public struct ResultState: Sendable, Equatable {
        public var interviewId: String
        public var result: HubertResult
        public var opportunity: Candidacy
        /// The stage the opportunity stood in when it was invited; nil when the sync did not invite it.
        public var stageAtInvitation: String?
        /// The stage id the grade's auto-move names (per-posting override first); nil for no move.
        public var autoMoveStageId: String?
        /// Whether the note of this result version is already on Lever.
        public var noteWritten: Bool
        /// Whether the sync already moved this opportunity for this interview (any version).
        public var alreadyMoved: Bool
        public init(
            interviewId: String, result: HubertResult, opportunity: Candidacy, stageAtInvitation: String?,
            autoMoveStageId: String?, noteWritten: Bool, alreadyMoved: Bool
        ) {
            self.interviewId = interviewId
            self.result = result
            self.opportunity = opportunity
            self.stageAtInvitation = stageAtInvitation
            self.autoMoveStageId = autoMoveStageId
            self.noteWritten = noteWritten
            self.alreadyMoved = alreadyMoved
        }
    }

    /// The write-back of one result: the grade tag (stale grade tags removed), one note, the application link,
    /// and the auto-move, which happens only while the opportunity is not archived and still stands in the stage
    /// it was invited in (a human's move is never overridden).
    public static func planResult(_ state: ResultState) -> [Action] {
        let opportunity = state.opportunity
        let id = opportunity.id
        let wanted = state.result.grade.leverTag
        var actions: [Action] = []
        let present = Set(opportunity.tags)
        for grade in HubertGrade.allCases where grade.leverTag != wanted && present.contains(grade.leverTag) {
            actions.append(.removeTag(opportunityId: id, tag: grade.leverTag))
        }
        if !present.contains(wanted) { actions.append(.addTag(opportunityId: id, tag: wanted)) }
        if !state.noteWritten { actions.append(.addNote(opportunityId: id)) }
        if let url = state.result.applicationUrl, !opportunity.links.contains(url) {
            actions.append(.addLink(opportunityId: id, url: url))
        }
        if let target = state.autoMoveStageId, !opportunity.isArchived, !state.alreadyMoved,
            let invitedIn = state.stageAtInvitation, opportunity.stageId == invitedIn, target != invitedIn
        {
            actions.append(.moveStage(opportunityId: id, stageId: target))
        }
        return actions
    }
}
