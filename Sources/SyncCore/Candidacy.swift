import Foundation

/// One person's candidacy for one job as the planner sees it: who they are, how to reach them, where they stand and
/// what the ATS already shows. The planner speaks only of this; each ATS adapter maps its own record to it (Lever's
/// opportunity in `Lever/LeverOpportunity+Candidacy.swift`), so a second ATS adds an adapter, not a rule.
public struct Candidacy: Sendable, Equatable {
    /// The ATS's id of the candidacy (Lever: the opportunity id).
    public var id: String
    public var name: String?
    public var emails: [String]
    public var phones: [String]
    /// The posting (job) it applied to, when the ATS says.
    public var postingId: String?
    /// The stage it stands in now.
    public var stageId: String?
    /// Its moves between stages, oldest first.
    public var stageChanges: [StageChange]
    /// When it entered its current stage, where the stage history does not say.
    public var enteredCurrentStageAt: Millis?
    public var isArchived: Bool
    /// Anonymized in the ATS: forgotten before any other rule.
    public var isAnonymized: Bool
    /// Whether the candidate allows contact: true, false, or nil when not stated.
    public var contactAllowed: Bool?
    /// When a contact permission expires, if it does.
    public var contactExpiresAt: Millis?
    /// The contact permission is present but says neither yes nor no: nobody is invited on its word.
    public var contactPermissionUnreadable: Bool
    /// Tags on the candidacy (where the grade tags are written).
    public var tags: [String]
    /// Links on the candidate (where the interview's link is written).
    public var links: [String]
    /// When the candidacy was created.
    public var createdAt: Millis?
    /// When the application was made (the candidacy's creation when the ATS names no application).
    public var appliedAt: Millis?
    /// When the candidacy last changed: a cause of its own can only be fixed by an edit that moves this.
    public var updatedAt: Millis?
    /// The candidate's page in the ATS, for the recruiter who fixes a problem.
    public var profileURL: String

    public init(
        id: String, name: String?, emails: [String], phones: [String] = [], postingId: String? = nil, stageId: String?,
        stageChanges: [StageChange] = [], enteredCurrentStageAt: Millis? = nil, isArchived: Bool = false,
        isAnonymized: Bool = false, contactAllowed: Bool? = nil, contactExpiresAt: Millis? = nil,
        contactPermissionUnreadable: Bool = false, tags: [String] = [], links: [String] = [], createdAt: Millis?,
        appliedAt: Millis?, updatedAt: Millis?, profileURL: String
    ) {
        self.id = id
        self.name = name
        self.emails = emails
        self.phones = phones
        self.postingId = postingId
        self.stageId = stageId
        self.stageChanges = stageChanges
        self.enteredCurrentStageAt = enteredCurrentStageAt
        self.isArchived = isArchived
        self.isAnonymized = isAnonymized
        self.contactAllowed = contactAllowed
        self.contactExpiresAt = contactExpiresAt
        self.contactPermissionUnreadable = contactPermissionUnreadable
        self.tags = tags
        self.links = links
        self.createdAt = createdAt
        self.appliedAt = appliedAt
        self.updatedAt = updatedAt
        self.profileURL = profileURL
    }

    /// One move into a stage; `at` nil when the ATS did not say when.
    public struct StageChange: Sendable, Equatable {
        public var toStageId: String?
        public var at: Millis?
        public init(toStageId: String?, at: Millis?) {
            self.toStageId = toStageId
            self.at = at
        }
    }

    /// When the candidacy last entered `stage`: from its stage history, or, while it stands there, when it entered
    /// its current stage.
    public func enteredStage(_ stage: String) -> Millis? {
        if let change = stageChanges.last(where: { $0.toStageId == stage }), let at = change.at { return at }
        if stageId == stage { return enteredCurrentStageAt }
        return nil
    }
}
