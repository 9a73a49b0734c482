import Foundation

/// One thing a pass does to Lever or Hubert — or, in a dry run, would do. The planner returns them; the effects
/// apply them; `--json` lists them under `actions` in the form `docs/cli.md` shows (`{"type": …, …}`).
public enum Action: Sendable, Equatable, Hashable {
    /// Invite the opportunity to the posting's Hubert interview (Hubert, with the deterministic Idempotency-Key).
    case invite(opportunityId: String, postingId: String, templateId: String)
    /// Add a grade tag to the opportunity (Lever; set semantics).
    case addTag(opportunityId: String, tag: String)
    /// Remove a stale grade tag (Lever; set semantics).
    case removeTag(opportunityId: String, tag: String)
    /// Write the result's note (Lever; not idempotent: guarded by the ledger's intent and marker).
    case addNote(opportunityId: String)
    /// Add the Hubert application link to the contact's links (Lever; set semantics).
    case addLink(opportunityId: String, url: String)
    /// Move the opportunity to the grade's stage (Lever; a PUT).
    case moveStage(opportunityId: String, stageId: String)

    /// The kind of an action, as `type` in JSON.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case invite, addTag, removeTag, addNote, addLink, moveStage

        /// The pass's count an action of this kind adds to (`--json` `counts`).
        public var count: WritableKeyPath<PassCounts, Int> {
            switch self {
            case .invite: \.invitationsSent
            case .addTag: \.tagsAdded
            case .removeTag: \.tagsRemoved
            case .addNote: \.notesAdded
            case .addLink: \.linksAdded
            case .moveStage: \.stageMoves
            }
        }
    }

    /// Which kind of action this is.
    public var type: Kind {
        switch self {
        case .invite: .invite
        case .addTag: .addTag
        case .removeTag: .removeTag
        case .addNote: .addNote
        case .addLink: .addLink
        case .moveStage: .moveStage
        }
    }

    /// The action in an operator's words (the text report of `run`).
    public var description: String {
        switch self {
        case .invite(let id, let posting, let template):
            "invite opportunity \(id) (posting \(posting), template \(template))"
        case .addTag(let id, let tag): "tag \(id) with \"\(tag)\""
        case .removeTag(let id, let tag): "remove tag \"\(tag)\" from \(id)"
        case .addNote(let id): "add result note to \(id)"
        case .addLink(let id, let url): "add link \(url) to \(id)"
        case .moveStage(let id, let stage): "move \(id) to stage \(stage)"
        }
    }

    /// The action in a recruiter's words, about one candidate (the demo's story), with names for ids where known.
    public func phrase(postingName: (String) -> String?, stageName: (String) -> String?) -> String {
        switch self {
        case .invite(_, let posting, _): "invited to the Hubert interview for \(postingName(posting) ?? "?")"
        case .addTag(_, let tag): "tagged \"\(tag)\""
        case .removeTag(_, let tag): "old tag \"\(tag)\" removed"
        case .addNote: "note with score and links added"
        case .addLink: "Hubert link added"
        case .moveStage(_, let stage): "moved to \(stageName(stage) ?? stage)"
        }
    }

    /// The opportunity the action concerns.
    public var opportunityId: String {
        switch self {
        case .invite(let id, _, _), .addTag(let id, _), .removeTag(let id, _), .addNote(let id), .addLink(let id, _),
            .moveStage(let id, _):
            id
        }
    }
}

extension Action: Codable {
    enum CodingKeys: String, CodingKey { case type, opportunityId, postingId, templateId, tag, url, stageId }

    /// `{"type": "invite", "opportunityId": …, "postingId": …, "templateId": …}` and so on, as `docs/cli.md` shows.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(opportunityId, forKey: .opportunityId)
        switch self {
        case .invite(_, let postingId, let templateId):
            try c.encode(postingId, forKey: .postingId)
            try c.encode(templateId, forKey: .templateId)
        case .addTag(_, let tag), .removeTag(_, let tag):
            try c.encode(tag, forKey: .tag)
        case .addLink(_, let url):
            try c.encode(url, forKey: .url)
        case .moveStage(_, let stageId):
            try c.encode(stageId, forKey: .stageId)
        case .addNote:
            break
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let id = try c.decode(String.self, forKey: .opportunityId)
        switch try c.decode(Kind.self, forKey: .type) {
        case .invite:
            self = .invite(
                opportunityId: id, postingId: try c.decode(String.self, forKey: .postingId),
                templateId: try c.decode(String.self, forKey: .templateId))
        case .addTag: self = .addTag(opportunityId: id, tag: try c.decode(String.self, forKey: .tag))
        case .removeTag: self = .removeTag(opportunityId: id, tag: try c.decode(String.self, forKey: .tag))
        case .addNote: self = .addNote(opportunityId: id)
        case .addLink: self = .addLink(opportunityId: id, url: try c.decode(String.self, forKey: .url))
        case .moveStage: self = .moveStage(opportunityId: id, stageId: try c.decode(String.self, forKey: .stageId))
        }
    }
}
