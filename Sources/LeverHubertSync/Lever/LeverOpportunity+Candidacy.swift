import Foundation

extension LeverOpportunity {
    /// The opportunity in the planner's terms: the one place Lever's fields are read as a candidacy.
    public var candidacy: Candidacy {
        Candidacy(
            id: id, name: name, emails: emails, phones: phones, postingId: postingId, stageId: stageId,
            stageChanges: stageChanges.map { Candidacy.StageChange(toStageId: $0.toStageId, at: $0.updatedAt) },
            enteredCurrentStageAt: lastAdvancedAt, isArchived: isArchived, isAnonymized: isAnonymized,
            contactAllowed: contactAllowed, contactExpiresAt: contactExpiresAt,
            contactPermissionUnreadable: contactPermissionUnreadable, tags: tags, links: links, createdAt: createdAt,
            appliedAt: appliedAt, updatedAt: updatedAt,
            profileURL: showURL ?? "https://hire.lever.co/candidates/\(id)")
    }
}
