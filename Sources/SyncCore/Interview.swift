import Foundation

/// A Hubert interview template (one per job role).
public struct HubertTemplate: Codable, Sendable, Equatable {
    public var id: String
    public var name: String?
    public var status: String
    public var threshold: Double?
    public init(id: String, name: String?, status: String, threshold: Double?) {
        self.id = id
        self.name = name
        self.status = status
        self.threshold = threshold
    }
    enum CodingKeys: String, CodingKey { case id, name, status, threshold }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = c.lenient(String.self, .name)
        status = c.lenient(String.self, .status) ?? "active"
        threshold = c.lenient(Double.self, .threshold)
    }
    /// Whether invitations may be sent with it.
    public var isActive: Bool { status == "active" }
}

/// The grade of a completed interview.
public enum HubertGrade: String, Codable, Sendable, CaseIterable {
    case notQualified = "not_qualified"
    case passed
    case lead

    /// The tag written to Lever for this grade.
    public var leverTag: String {
        switch self {
        case .lead: "Hubert: Lead"
        case .passed: "Hubert: Passed"
        case .notQualified: "Hubert: Not Qualified"
        }
    }

    /// The grade as a recruiter reads it.
    public var label: String {
        switch self {
        case .lead: "Lead"
        case .passed: "Passed"
        case .notQualified: "Not Qualified"
        }
    }
}

/// The result of a completed interview.
public struct HubertResult: Codable, Sendable, Equatable {
    public var grade: HubertGrade
    public var score: Double?
    public var threshold: Double?
    public var applicationUrl: String?
    public var summaryUrl: String?
    public init(grade: HubertGrade, score: Double?, threshold: Double?, applicationUrl: String?, summaryUrl: String?) {
        self.grade = grade
        self.score = score
        self.threshold = threshold
        self.applicationUrl = applicationUrl
        self.summaryUrl = summaryUrl
    }
    enum CodingKeys: String, CodingKey { case grade, score, threshold, applicationUrl, summaryUrl }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        grade = try c.decode(HubertGrade.self, forKey: .grade)
        score = c.lenient(Double.self, .score)
        threshold = c.lenient(Double.self, .threshold)
        applicationUrl = c.lenient(String.self, .applicationUrl)
        summaryUrl = c.lenient(String.self, .summaryUrl)
    }

    /// A stable fingerprint of what the recruiter sees; a regrade changes it.
    public var fingerprint: String {
        "\(grade.rawValue)|\(score.map { String($0) } ?? "-")|\(threshold.map { String($0) } ?? "-")"
    }
}

/// Who an interview is for, in Lever terms.
public struct HubertExternalReference: Codable, Sendable, Equatable {
    public var source: String
    public var opportunityId: String
    public var postingId: String?
    public init(source: String = "lever", opportunityId: String, postingId: String?) {
        self.source = source
        self.opportunityId = opportunityId
        self.postingId = postingId
    }

    enum CodingKeys: String, CodingKey { case source, opportunityId, postingId }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(source, forKey: .source)
        try c.encode(opportunityId, forKey: .opportunityId)
        try c.encode(postingId, forKey: .postingId)
    }
}

/// The candidate fields sent with an invitation.
public struct HubertCandidate: Codable, Sendable, Equatable {
    public var firstName: String
    public var lastName: String?
    public var email: String
    public var phoneNumber: String?
    public init(firstName: String, lastName: String?, email: String, phoneNumber: String?) {
        self.firstName = firstName
        self.lastName = lastName
        self.email = email
        self.phoneNumber = phoneNumber
    }

    enum CodingKeys: String, CodingKey { case firstName, lastName, email, phoneNumber }

    /// Absent values are sent as explicit `null`, as the contract shows them.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(firstName, forKey: .firstName)
        try c.encode(lastName, forKey: .lastName)
        try c.encode(email, forKey: .email)
        try c.encode(phoneNumber, forKey: .phoneNumber)
    }

    /// Splits a Lever name so that `firstName + " " + lastName` gives it back; a one-word name goes to `firstName`.
    public static func splitName(_ name: String) -> (first: String, last: String?) {
        guard let space = name.firstIndex(of: " ") else { return (name, nil) }
        return (String(name[..<space]), String(name[name.index(after: space)...]))
    }
}

/// An interview as Hubert reports it.
public struct HubertInterview: Decodable, Sendable, Equatable {
    public var id: String
    public var templateId: String
    public var externalReference: HubertExternalReference?
    public var status: String
    public var updatedAt: Millis?
    /// When Hubert created the invitation.
    public var invitedAt: Millis?
    public var result: HubertResult?
    /// The grade of a completed interview's result when it is none this tool knows (the result is then nil): such
    /// a result is reported and stays due, never recorded as written back.
    public var unknownGrade: String?
    public init(
        id: String, templateId: String, externalReference: HubertExternalReference?, status: String,
        updatedAt: Millis?, result: HubertResult?, unknownGrade: String? = nil
    ) {
        self.id = id
        self.templateId = templateId
        self.externalReference = externalReference
        self.status = status
        self.updatedAt = updatedAt
        self.result = result
        self.unknownGrade = unknownGrade
    }
    struct RawResult: Decodable { var grade: String? }
    enum CodingKeys: String, CodingKey { case id, templateId, externalReference, status, updatedAt, invitedAt, result }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        templateId = c.lenient(String.self, .templateId) ?? ""
        externalReference = c.lenient(HubertExternalReference.self, .externalReference)
        status = c.lenient(String.self, .status) ?? "invited"
        updatedAt = c.lenient(String.self, .updatedAt).flatMap(RFC3339.parse)
        invitedAt = c.lenient(String.self, .invitedAt).flatMap(RFC3339.parse)
        result = c.lenient(HubertResult.self, .result)
        if result == nil, let raw = c.lenient(RawResult.self, .result) {
            unknownGrade = raw.grade.map { String($0.prefix(40)) } ?? "(none)"
        }
    }
    /// Whether a result is ready to be written back.
    public var isCompleted: Bool { status == "completed" && result != nil }
}

/// How long Hubert remembers an invitation's Idempotency-Key (`contracts/hubert-api.md`): within it a repeated POST
/// is answered with the interview it created.
public enum HubertMemory {
    public static let idempotencyKeyLifetimeDays: Int64 = 30
}
