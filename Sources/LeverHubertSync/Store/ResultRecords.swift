import Foundation
import GRDB

// The result write-back ledger's rows as GRDB records (see `Records.swift` for the conventions).

/// A recorded write-back step of one result version: one row of `result_step`.
public struct ResultStepRecord: Sendable, Equatable {
    /// `result_step.step`: the steps the ledger guards — the note (not idempotent: intent, marker, read-back) and the
    /// move (done once per interview, so a recruiter's later move is never overridden). Tags and links are sets.
    public enum Step: String, Sendable, CaseIterable, Codable, DatabaseValueConvertible { case note, move }
    /// `result_step.state`: `pending` (intent recorded, not confirmed), `done`.
    public enum State: String, Sendable, CaseIterable, Codable, DatabaseValueConvertible { case pending, done }
    public var interviewId: String
    public var fingerprint: String
    public var step: Step
    public var opportunityId: String
    public var done: Bool
    public var marker: String?
    /// The Lever note's id, for a note step Lever confirmed.
    public var noteId: String?
    /// When the row last changed (ms).
    public var updatedAt: Millis = 0

    /// `done` as the stored state.
    public var state: State { done ? .done : .pending }
}

extension ResultStepRecord: Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "result_step"

    enum CodingKeys: String, CodingKey {
        case interviewId = "interview_id"
        case fingerprint
        case step
        case opportunityId = "opportunity_id"
        case state
        case marker
        case noteId = "note_id"
        case updatedAt = "updated_ms"
    }

    public enum Columns {
        public static let interviewId = Column(CodingKeys.interviewId)
        public static let fingerprint = Column(CodingKeys.fingerprint)
        public static let step = Column(CodingKeys.step)
        public static let opportunityId = Column(CodingKeys.opportunityId)
        public static let state = Column(CodingKeys.state)
        public static let updatedAt = Column(CodingKeys.updatedAt)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        interviewId = try c.decode(String.self, forKey: .interviewId)
        fingerprint = try c.decode(String.self, forKey: .fingerprint)
        step = try c.decode(Step.self, forKey: .step)
        opportunityId = try c.decode(String.self, forKey: .opportunityId)
        done = try c.decode(State.self, forKey: .state) == .done
        marker = try c.decodeIfPresent(String.self, forKey: .marker)
        noteId = try c.decodeIfPresent(String.self, forKey: .noteId)
        updatedAt = try c.decode(Millis.self, forKey: .updatedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(interviewId, forKey: .interviewId)
        try c.encode(fingerprint, forKey: .fingerprint)
        try c.encode(step, forKey: .step)
        try c.encode(opportunityId, forKey: .opportunityId)
        try c.encode(state, forKey: .state)
        try c.encode(marker, forKey: .marker)
        try c.encode(noteId, forKey: .noteId)
        try c.encode(updatedAt, forKey: .updatedAt)
    }
}

/// A result version due for write-back, as the ledger keeps it: one row of `result_due`.
public struct DueResult: Sendable, Equatable {
    /// `result_due.state`.
    public enum State: String, Sendable, CaseIterable, Codable, DatabaseValueConvertible {
        case due
        case givenUp = "given_up"
    }
    public var interviewId: String
    public var opportunityId: String
    public var fingerprint: String
    public var state: State
    /// When this version first became due (the give-up clock starts here).
    public var firstDue: Millis
    public var attempts: Int
    public var lastError: String?
}

extension DueResult: Codable, FetchableRecord, TableRecord {
    public static let databaseTableName = "result_due"

    enum CodingKeys: String, CodingKey {
        case interviewId = "interview_id"
        case opportunityId = "opportunity_id"
        case fingerprint
        case state
        case firstDue = "first_due_ms"
        case attempts
        case lastError = "last_error"
    }

    public enum Columns {
        public static let interviewId = Column(CodingKeys.interviewId)
        public static let state = Column(CodingKeys.state)
        public static let firstDue = Column(CodingKeys.firstDue)
        public static let attempts = Column(CodingKeys.attempts)
        public static let lastError = Column(CodingKeys.lastError)
        public static let lastAttempt = Column("last_attempt_ms")
    }
}

/// The latest result version fully written back, per interview: one row of `applied_result`.
struct AppliedResultRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "applied_result"
    var interviewId: String
    var opportunityId: String
    var fingerprint: String
    var grade: HubertGrade
    var appliedAt: Millis

    enum CodingKeys: String, CodingKey {
        case interviewId = "interview_id"
        case opportunityId = "opportunity_id"
        case fingerprint, grade
        case appliedAt = "applied_ms"
    }

    enum Columns {
        static let interviewId = Column(CodingKeys.interviewId)
        static let fingerprint = Column(CodingKeys.fingerprint)
    }
}

extension HubertGrade: DatabaseValueConvertible {}
