import Foundation

/// Thrown by a page handler when the pass reached its deadline: the walk stops before the next page's work, and the
/// phase ends normally (what was in flight finished; the other phase is not cancelled).
struct DeadlineStop: Error {}

extension SyncEngine {
    /// True once the pass reached `sync.passDeadlineMinutes` (by the engine's clock): from then on it takes no new
    /// work, finishes what is in flight, records it, and exits 75 without moving a checkpoint.
    func pastDeadline(_ collector: PassCollector) async -> Bool {
        await collector.pastDeadline(now: clock())
    }

    /// Stops a page walk at the deadline (`DeadlineStop`), before the page's work begins.
    func stopAtDeadline(_ collector: PassCollector) async throws {
        if await pastDeadline(collector) { throw DeadlineStop() }
    }

    /// Runs a phase that walks pages; a `DeadlineStop` ends it quietly (the pass then exits 75).
    func untilDeadline(_ phase: () async throws -> Void) async throws {
        do { try await phase() } catch is DeadlineStop {}
    }
}
