import Foundation
import GRDB

// The ledger's rows as GRDB records: one type per table, its `CodingKeys` the table's column names, so that a row is
// read and written by GRDB's Codable support rather than mapped by hand. The schema itself is `Schema`; every state
// column has its Swift enum, stored as the very same string the schema's CHECK constraints list.

// MARK: Invitations

/// A recorded invitation: one row of `invitation`.
public struct InvitationRecord: Sendable, Equatable {
    /// `invitation.state`: `pending` (intent recorded, outcome unknown), `sent` (Hubert has it), `refused`.
    public enum State: String, Sendable, Codable, CaseIterable, DatabaseValueConvertible {
        case pending, sent, refused
    }
    public var opportunityId: String
    public var templateId: String
    public var postingId: String
    public var state: State
    public var interviewId: String?
    public var stageAtInvitation: String?
    /// When the intent was recorded (ms).
    public var createdAt: Millis = 0
    /// When the application was created in Lever (ms), for the invitation latency.
    public var appliedAt: Millis?
    /// The Idempotency-Key the invitation is sent with (set by the store when it records the intent).
    public var idempotencyKey: String?
    /// The interview's latest status as Hubert gave it (`invited`, `started`, `completed` …).
    public var interviewStatus: String?
    /// Why Hubert refused the invitation, or why the intent was closed.
    public var refusal: String?
    /// When Hubert first confirmed the invitation (ms).
    public var sentAt: Millis?
    /// When the row last changed (ms).
    public var updatedAt: Millis = 0
    /// Passes that tried to send or settle this invitation and got no answer (`v7`).
    public var attempts: Int = 0
    /// When the last of those tries failed (ms).
    public var lastAttemptAt: Millis?
}

extension InvitationRecord: Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "invitation"

    enum CodingKeys: String, CodingKey {
        case opportunityId = "opportunity_id"
        case templateId = "template_id"
        case postingId = "posting_id"
        case idempotencyKey = "idempotency_key"
        case state
        case interviewId = "interview_id"
        case interviewStatus = "interview_status"
        case stageAtInvitation = "stage_at_invitation"
        case refusal
        case createdAt = "created_ms"
        case sentAt = "sent_ms"
        case updatedAt = "updated_ms"
        case appliedAt = "applied_ms"
        case attempts
        case lastAttemptAt = "last_attempt_ms"
    }

    public enum Columns {
        public static let attempts = Column(CodingKeys.attempts)
        public static let lastAttemptAt = Column(CodingKeys.lastAttemptAt)
        public static let opportunityId = Column(CodingKeys.opportunityId)
        public static let templateId = Column(CodingKeys.templateId)
        public static let postingId = Column(CodingKeys.postingId)
        public static let state = Column(CodingKeys.state)
        public static let interviewId = Column(CodingKeys.interviewId)
        public static let interviewStatus = Column(CodingKeys.interviewStatus)
        public static let stageAtInvitation = Column(CodingKeys.stageAtInvitation)
        public static let refusal = Column(CodingKeys.refusal)
        public static let createdAt = Column(CodingKeys.createdAt)
        public static let sentAt = Column(CodingKeys.sentAt)
        public static let updatedAt = Column(CodingKeys.updatedAt)
        public static let appliedAt = Column(CodingKeys.appliedAt)
    }

    /// The rows of one (opportunity, template).
    static func filter(opportunityId: String, templateId: String) -> QueryInterfaceRequest<Self> {
        filter(Columns.opportunityId == opportunityId && Columns.templateId == templateId)
    }
}

// MARK: Streams, postings, applicants

/// Where a stream's next window starts: one row of `checkpoint`.
struct CheckpointRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "checkpoint"
    var stream: String
    var at: Millis
    var updatedAt: Millis

    enum CodingKeys: String, CodingKey {
        case stream
        case at = "at_ms"
        case updatedAt = "updated_ms"
    }

    enum Columns {
        static let stream = Column(CodingKeys.stream)
    }
}

/// A (posting, template) pair: the key of `posting_tag` and `applicant`, and of the funnel's entries.
public struct PostingTemplate: Sendable, Hashable, Codable {
    public var postingId: String
    public var templateId: String

    public init(postingId: String, templateId: String) {
        self.postingId = postingId
        self.templateId = templateId
    }

    enum CodingKeys: String, CodingKey {
        case postingId = "posting_id"
        case templateId = "template_id"
    }
}

/// When a posting was first and last seen carrying its Hubert tag: one row of `posting_tag`.
struct PostingTagRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "posting_tag"
    var postingId: String
    var templateId: String
    var firstSeen: Millis
    var lastSeen: Millis
    var postingName: String?

    var pair: PostingTemplate { PostingTemplate(postingId: postingId, templateId: templateId) }

    enum CodingKeys: String, CodingKey {
        case postingId = "posting_id"
        case templateId = "template_id"
        case firstSeen = "first_seen_ms"
        case lastSeen = "last_seen_ms"
        case postingName = "posting_name"
    }

    enum Columns {
        static let postingId = Column(CodingKeys.postingId)
        static let firstSeen = Column(CodingKeys.firstSeen)
        static let postingName = Column(CodingKeys.postingName)
    }
}

/// An opportunity that applied to a tagged posting, as the tool saw it: one row of `applicant`.
struct ApplicantRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "applicant"
    var opportunityId: String
    var templateId: String
    var postingId: String
    var appliedAt: Millis?
    var seenAt: Millis

    enum CodingKeys: String, CodingKey {
        case opportunityId = "opportunity_id"
        case templateId = "template_id"
        case postingId = "posting_id"
        case appliedAt = "applied_ms"
        case seenAt = "seen_ms"
    }
}

// MARK: Caches and meta

/// What Hubert said of a template when last asked: one row of `template_cache`.
struct TemplateCacheRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "template_cache"
    var templateId: String
    var status: String
    var threshold: Double?
    var checkedAt: Millis

    enum CodingKeys: String, CodingKey {
        case templateId = "template_id"
        case status, threshold
        case checkedAt = "checked_ms"
    }

    enum Columns {
        static let templateId = Column(CodingKeys.templateId)
        static let checkedAt = Column(CodingKeys.checkedAt)
    }
}

/// Lever data that rarely changes: one row of `lookup_cache`.
struct LookupCacheRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "lookup_cache"
    var key: String
    var value: String
    var fetchedAt: Millis

    enum CodingKeys: String, CodingKey {
        case key, value
        case fetchedAt = "fetched_ms"
    }

    enum Columns {
        static let key = Column(CodingKeys.key)
        static let value = Column(CodingKeys.value)
        static let fetchedAt = Column(CodingKeys.fetchedAt)
    }
}

/// A fact about the database itself: one row of `meta`.
struct MetaRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "meta"
    var key: String
    var value: String

    /// `meta.key`s the store knows.
    enum Key {
        /// Which tool made the database (`demo`).
        static let madeBy = "made_by"
        /// The prefix of the cumulative counters' keys (`counter.<name>`).
        static let counterPrefix = "counter."
    }

    enum Columns {
        static let key = Column(CodingKeys.key)
        static let value = Column(CodingKeys.value)
    }
}

// MARK: Runs and problems

/// One run of the tool: one row of `run`.
struct RunRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "run"
    var id: String
    var kind: String
    var startedAt: Millis
    var finishedAt: Millis?
    var exitCode: Int?
    var countsJSON: String?
    var leverRequests: Int = 0
    var hubertRequests: Int = 0
    var message: String?

    enum CodingKeys: String, CodingKey {
        case id, kind
        case startedAt = "started_ms"
        case finishedAt = "finished_ms"
        case exitCode = "exit_code"
        case countsJSON = "counts_json"
        case leverRequests = "lever_requests"
        case hubertRequests = "hubert_requests"
        case message
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let kind = Column(CodingKeys.kind)
        static let startedAt = Column(CodingKeys.startedAt)
        static let finishedAt = Column(CodingKeys.finishedAt)
        static let exitCode = Column(CodingKeys.exitCode)
    }
}

/// An item a human must look at: one row of `problem`. An empty id stands for none (a posting-level problem has
/// no opportunity).
struct ProblemRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "problem"
    var opportunityId: String
    var postingId: String
    var reason: String
    var message: String
    var firstSeen: Millis
    var lastSeen: Millis
    var runId: String

    enum CodingKeys: String, CodingKey {
        case opportunityId = "opportunity_id"
        case postingId = "posting_id"
        case reason, message
        case firstSeen = "first_seen_ms"
        case lastSeen = "last_seen_ms"
        case runId = "run_id"
    }

    enum Columns {
        static let opportunityId = Column(CodingKeys.opportunityId)
        static let postingId = Column(CodingKeys.postingId)
        static let reason = Column(CodingKeys.reason)
        static let lastSeen = Column(CodingKeys.lastSeen)
    }
}
