import Foundation

/// One page of a Lever list: `{data, hasNext, next}`. An absent `hasNext` means this is the last page.
public struct LeverPage<T: Decodable & Sendable>: Decodable, Sendable {
    public var data: [Decoded<T>]
    public var hasNext: Bool
    public var next: String?

    enum CodingKeys: String, CodingKey { case data, hasNext, next }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        data = try c.decode([Decoded<T>].self, forKey: .data)
        hasNext = c.lenient(Bool.self, .hasNext) ?? false
        next = c.lenient(String.self, .next)
    }

    /// The items that decoded.
    public var items: [T] { data.compactMap { if case .value(let v) = $0 { v } else { nil } } }
    /// The items that did not decode, with their ids where readable.
    public var failures: [(id: String?, reason: String)] {
        data.compactMap { if case .failure(let id, let reason) = $0 { (id, reason) } else { nil } }
    }
}

/// The `urls` object of a posting or an opportunity: the link to show it in Lever.
struct LeverURLs: Decodable { var show: String? }

/// A single-object response: `{data: {...}}`.
public struct LeverEnvelope<T: Decodable & Sendable>: Decodable, Sendable {
    public var data: T
}

/// A posting, reduced to what the sync needs.
public struct LeverPosting: Decodable, Sendable, Equatable {
    public var id: String
    public var text: String?
    public var state: String?
    public var tags: [String]
    public var showURL: String?
    /// When the posting last changed (a tag added moves it); nil when Lever gives none.
    public var updatedAt: Millis?

    enum CodingKeys: String, CodingKey { case id, text, state, tags, urls, updatedAt }

    public init(
        id: String, text: String?, state: String?, tags: [String], showURL: String? = nil, updatedAt: Millis? = nil
    ) {
        self.id = id
        self.text = text
        self.state = state
        self.tags = tags
        self.showURL = showURL
        self.updatedAt = updatedAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        text = c.lenient(String.self, .text)
        state = c.lenient(String.self, .state)
        tags = c.lenientArray(String.self, .tags)
        showURL = c.lenient(LeverURLs.self, .urls)?.show
        updatedAt = c.milliseconds(.updatedAt)
    }
}

/// A stage of the account's pipeline.
public struct LeverStage: Decodable, Sendable, Equatable {
    public var id: String
    public var text: String
    public init(id: String, text: String) {
        self.id = id
        self.text = text
    }
    enum CodingKeys: String, CodingKey { case id, text }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        text = c.lenient(String.self, .text) ?? id
    }
}

/// A Lever user (for `perform_as`).
public struct LeverUser: Decodable, Sendable, Equatable {
    public var id: String
    public var name: String?
    public var email: String?
    public var deactivatedAt: Millis?
    enum CodingKeys: String, CodingKey { case id, name, email, deactivatedAt }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = c.lenient(String.self, .name)
        email = c.lenient(String.self, .email)
        deactivatedAt = c.milliseconds(.deactivatedAt)
    }
}

/// One entry of an opportunity's stage history.
public struct LeverStageChange: Decodable, Sendable, Equatable {
    public var toStageId: String?
    public var updatedAt: Millis?
    public init(toStageId: String?, updatedAt: Millis?) {
        self.toStageId = toStageId
        self.updatedAt = updatedAt
    }
    enum CodingKeys: String, CodingKey { case toStageId, updatedAt }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        toStageId = c.lenient(String.self, .toStageId)
        updatedAt = c.milliseconds(.updatedAt)
    }
}

/// An application: an id only, or expanded with its posting and creation time.
public struct LeverApplication: Decodable, Sendable, Equatable {
    public var id: String?
    public var postingId: String?
    public var createdAt: Millis?
    public init(id: String?, postingId: String?, createdAt: Millis?) {
        self.id = id
        self.postingId = postingId
        self.createdAt = createdAt
    }
    enum CodingKeys: String, CodingKey { case id, posting, createdAt }
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let id = try? single.decode(String.self) {
            self.id = id
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = c.lenient(String.self, .id)
        createdAt = c.milliseconds(.createdAt)
        if let posting = c.lenient(String.self, .posting) {
            postingId = posting
        } else if let posting = c.lenient(LeverStage.self, .posting) {
            postingId = posting.id
        }
    }
}

/// A note on an opportunity: its id and the text of its fields (where the sync's marker is searched).
public struct LeverNote: Decodable, Sendable {
    public var id: String
    public var texts: [String]
    enum CodingKeys: String, CodingKey { case id, text, fields }
    struct Field: Decodable {
        var value: String?
        enum CodingKeys: String, CodingKey { case value }
        init(from decoder: any Decoder) throws {
            value = try decoder.container(keyedBy: CodingKeys.self).lenient(String.self, .value)
        }
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        texts =
            [c.lenient(String.self, .text)].compactMap { $0 } + c.lenientArray(Field.self, .fields).compactMap(\.value)
    }
}

/// The answer to creating a note: `{data:{noteId}}` per the docs, or a full note plus `noteId` in reality.
public struct LeverCreatedNote: Decodable, Sendable {
    public var noteId: String?
    enum CodingKeys: String, CodingKey { case noteId, id }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        noteId = c.lenient(String.self, .noteId) ?? c.lenient(String.self, .id)
    }
}

/// An entry of `/opportunities/deleted`.
public struct LeverDeletedOpportunity: Decodable, Sendable {
    public var id: String
    public var deletedAt: Millis?
    enum CodingKeys: String, CodingKey { case id, deletedAt }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        deletedAt = c.milliseconds(.deletedAt)
    }
}

/// The error body `{code, message}` of a Lever error response.
public struct LeverErrorBody: Decodable, Sendable {
    public var code: String?
    public var message: String?
}

/// An entry of `/tags`.
public struct LeverTag: Decodable, Sendable {
    public var text: String
    public var count: Int?
    enum CodingKeys: String, CodingKey { case text, count }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        text = try c.decode(String.self, forKey: .text)
        count = c.lenient(Int.self, .count)
    }
}

/// The OAuth token endpoint's answer (authorization code or refresh grant).
public struct LeverOAuthToken: Decodable, Sendable {
    public var accessToken: String
    public var refreshToken: String?
    public var tokenType: String?
    public var expiresIn: Int?
    public var scope: String?
    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case refreshToken = "refresh_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
        case scope
    }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        accessToken = try c.decode(String.self, forKey: .accessToken)
        refreshToken = c.lenient(String.self, .refreshToken)
        tokenType = c.lenient(String.self, .tokenType)
        expiresIn = c.lenient(Int.self, .expiresIn)
        scope = c.lenient(String.self, .scope)
    }
}
