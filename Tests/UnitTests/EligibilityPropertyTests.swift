import Foundation
import Testing

@testable import LeverHubertSync

/// The pure rules over random tag histories and arrival times (no I/O): every opportunity is invited at most once
/// per template, and exactly when its trigger lies inside a period of that template.
@Suite struct EligibilityPropertyTests {
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test(arguments: 0..<60)
    func randomTagHistoriesInviteExactlyThoseInsideAPeriodOnce(seed: Int) {
        var rng = Generator(state: UInt64(seed) &* 7919 &+ 1)
        let templates = ["aaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbb"]
        let verdicts: [PostingTagVerdict] =
            templates.map { .template($0) } + [.none, .invalid(reason: .invalidHubertTag, message: "x")]
        // The tool's state, kept as the store keeps it.
        var periods: [TaggingPeriod] = []
        var malformed: Millis?
        var invitations: [String: [String]] = [:]
        // What really happened.
        var truth: [(template: String, from: Millis, to: Millis?)] = []
        var malformedTruth: Millis?
        var verdict = PostingTagVerdict.none
        var arrivals: [(id: String, at: Millis)] = []
        var checkpoint: Millis?
        var now: Millis = 1_000
        for _ in 0..<30 {
            // Between two passes: maybe a tag change at a random moment, arrivals before and after it.
            var updatedAt: Millis?
            if Int.random(in: 0..<3, using: &rng) == 0 {
                let at = now + Millis.random(in: 1...99, using: &rng)
                let next = verdicts.randomElement(using: &rng)!
                if next != verdict {
                    updatedAt = at
                    if let last = truth.last, last.to == nil { truth[truth.count - 1].to = at }
                    switch next {
                    case .template(let t):
                        truth.append((t, malformedTruth ?? at, nil))
                        malformedTruth = nil
                    case .invalid: malformedTruth = malformedTruth ?? at
                    case .none: malformedTruth = nil
                    }
                    verdict = next
                }
            }
            for _ in 0..<Int.random(in: 0..<4, using: &rng) {
                arrivals.append(("o\(arrivals.count)", now + Millis.random(in: 1...99, using: &rng)))
            }
            now += 100
            // The pass: what it sees of the posting, then each opportunity for each template it decides.
            let seenAt = Planner.firstSeen(previousCheckpoint: checkpoint, postingUpdatedAt: updatedAt, now: now)
            let change = Planner.periodChange(
                open: periods.last(where: { $0.end == nil }), malformedSince: malformed, verdict: verdict,
                seenAt: seenAt)
            let owed = change.malformedCorrectedAt != nil ? malformed : nil
            periods = SyncEngine.applying(change, to: periods)
            if case .some(let value) = change.malformedSince { malformed = value }
            if change.malformedCorrectedAt != nil { malformed = nil }
            defer { checkpoint = now }
            guard let windowStart = checkpoint else { continue }
            let current: String? = if case .template(let t) = verdict { t } else { nil }
            for template in Planner.templatesToDecide(current: current, periods: periods, windowStart: windowStart) {
                let from = template == current ? min(owed ?? windowStart, windowStart) : windowStart
                for arrival in arrivals {
                    let opportunity = Candidacy(
                        id: arrival.id, name: "N", emails: ["n@example.com"], stageId: "new", createdAt: arrival.at,
                        appliedAt: arrival.at, updatedAt: arrival.at, profileURL: "https://example.com/\(arrival.id)")
                    let decision = Planner.eligibility(
                        EligibilityInput(
                            opportunity: opportunity, templateId: template, periods: periods,
                            newApplicantStageId: "new", window: Planner.range(from, now),
                            invited: invitations[arrival.id, default: []].contains(template), now: now,
                            holdMs: .max))
                    if case .invite = decision { invitations[arrival.id, default: []].append(template) }
                }
            }
        }
        // Invited for a template exactly when the arrival lies inside a real period of it (after the baseline pass,
        // which invites nobody), and never twice.
        for arrival in arrivals where arrival.at > 1_100 {
            let got = invitations[arrival.id] ?? []
            for template in templates {
                let inside = truth.contains {
                    $0.template == template && arrival.at >= $0.from && arrival.at < ($0.to ?? .max)
                }
                #expect(
                    got.filter { $0 == template }.count == (inside ? 1 : 0),
                    "seed \(seed): \(arrival.id) at \(arrival.at): invited \(got), inside \(template): \(inside)")
            }
        }
    }
}
