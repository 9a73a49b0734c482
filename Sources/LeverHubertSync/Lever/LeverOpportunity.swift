import Foundation

/// An opportunity (one candidacy), reduced to what the sync needs. Tolerates every shape seen in real data:
/// stage as an id or `{id,text}`, `archived` object or legacy top-level `archivedAt`, nulls and missing keys.
public struct LeverOpportunity: Decodable, Sendable, Equatable {
    public var id: String
    public var name: String?
    public var emails: [String]
    public var phones: [String]
    public var stageId: String?
    public var stageChanges: [LeverStageChange]
    public var archivedAt: Millis?
    public var isArchived: Bool
    public var tags: [String]
    public var links: [String]
    public var applications: [LeverApplication]
    public var createdAt: Millis?
    public var updatedAt: Millis?
    public var lastAdvancedAt: Millis?
    /// `dataProtection.contact.allowed`; nil when Lever gives no data-protection settings.
    public var contactAllowed: Bool?
    /// `dataProtection.contact.expiresAt`: after it, the permission to contact has lapsed.
    public var contactExpiresAt: Millis?
    /// The data-protection settings say something that is neither `true`, `false` nor absent (`"false"`, `0`, a
    /// string, an object): consent is not clear, so the candidate is held back and reported (fail closed).
    public var contactPermissionUnreadable = false
    public var isAnonymized: Bool
    public var showURL: String?

    public init(
        id: String, name: String? = nil, emails: [String] = [], phones: [String] = [], stageId: String? = nil,
        stageChanges: [LeverStageChange] = [], archivedAt: Millis? = nil, isArchived: Bool = false,
        tags: [String] = [], links: [String] = [], applications: [LeverApplication] = [],
        createdAt: Millis? = nil, updatedAt: Millis? = nil, lastAdvancedAt: Millis? = nil,
        contactAllowed: Bool? = nil, isAnonymized: Bool = false, showURL: String? = nil
    ) {
        self.id = id
        self.name = name
        self.emails = emails
        self.phones = phones
        self.stageId = stageId
        self.stageChanges = stageChanges
        self.archivedAt = archivedAt
        self.isArchived = isArchived
        self.tags = tags
        self.links = links
        self.applications = applications
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastAdvancedAt = lastAdvancedAt
        self.contactAllowed = contactAllowed
        self.isAnonymized = isAnonymized
        self.showURL = showURL
    }

    enum CodingKeys: String, CodingKey {
        case id, name, emails, phones, stage, stageChanges, archived, archivedAt, tags, links, applications
        case createdAt, updatedAt, lastAdvancedAt, dataProtection, isAnonymized, urls
    }
    struct Phone: Decodable { var value: String? }
    struct Archived: Decodable {
        var archivedAt: Millis?
        enum CodingKeys: String, CodingKey { case archivedAt }
        init(from decoder: any Decoder) throws {
            archivedAt = try decoder.container(keyedBy: CodingKeys.self).milliseconds(.archivedAt)
        }
    }
    struct DataProtection: Decodable {
        struct Permission: Decodable {
            var allowed: Bool?
            var expiresAt: Millis?
            /// `allowed` is there but not a JSON boolean.
            var unreadable = false
            enum CodingKeys: String, CodingKey { case allowed, expiresAt }
            init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                // Only a JSON boolean is an answer; null or absent is "no setting" (allowed, as Lever means it);
                // anything else ("false", 0, 1, "yes") is unclear: never read as allowed.
                if c.holdsValue(.allowed) {
                    let numberOrText =
                        (try? c.decode(Double.self, forKey: .allowed)) != nil
                        || (try? c.decode(String.self, forKey: .allowed)) != nil
                    if !numberOrText, let value = try? c.decode(Bool.self, forKey: .allowed) {
                        allowed = value
                    } else {
                        unreadable = true
                    }
                }
                expiresAt = c.milliseconds(.expiresAt)
            }
        }
        var contact: Permission?
        /// `contact` is there but is no object.
        var unreadable = false
        enum CodingKeys: String, CodingKey { case contact }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if c.holdsValue(.contact) {
                contact = try? c.decode(Permission.self, forKey: .contact)
                unreadable = contact == nil || contact?.unreadable == true
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        guard !id.isEmpty else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: c, debugDescription: "empty opportunity id")
        }
        name = c.lenient(String.self, .name)
        emails = c.lenientArray(String.self, .emails).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        phones = c.lenientArray(Phone.self, .phones).compactMap(\.value)
        if let stage = c.lenient(String.self, .stage) {
            stageId = stage
        } else {
            stageId = c.lenient(LeverStage.self, .stage)?.id
        }
        stageChanges = c.lenientArray(LeverStageChange.self, .stageChanges)
        let archived = c.lenient(Archived.self, .archived)
        let legacy = c.milliseconds(.archivedAt)
        archivedAt = archived?.archivedAt ?? legacy
        isArchived = archived != nil || legacy != nil
        tags = c.lenientArray(String.self, .tags)
        links = c.lenientArray(String.self, .links)
        applications = c.lenientArray(LeverApplication.self, .applications)
        createdAt = c.milliseconds(.createdAt)
        updatedAt = c.milliseconds(.updatedAt)
        lastAdvancedAt = c.milliseconds(.lastAdvancedAt)
        // Consent fails closed: data-protection settings that are there but cannot be read hold the candidate back.
        var protection: DataProtection?
        if c.holdsValue(.dataProtection) {
            protection = try? c.decode(DataProtection.self, forKey: .dataProtection)
            contactPermissionUnreadable = protection == nil || protection?.unreadable == true
        }
        let contact = protection?.contact
        contactAllowed = contact?.allowed
        contactExpiresAt = contact?.expiresAt
        isAnonymized = c.lenient(Bool.self, .isAnonymized) ?? false
        showURL = c.lenient(LeverURLs.self, .urls)?.show
    }

    /// The posting this opportunity applied to, when applications are expanded.
    public var postingId: String? { applications.lazy.compactMap(\.postingId).first }

    /// When the application was created (expanded application first, else the opportunity's creation).
    public var appliedAt: Millis? { applications.lazy.compactMap(\.createdAt).first ?? createdAt }
}

extension KeyedDecodingContainer {
    /// Whether `key` is there with a value other than `null`.
    fileprivate func holdsValue(_ key: Key) -> Bool { contains(key) && !((try? decodeNil(forKey: key)) ?? false) }
}
