import Foundation

/// Runs `body` for every item with at most `limit` running at once; the first error cancels the rest.
func concurrentForEach<T: Sendable>(_ items: [T], limit: Int, _ body: @escaping @Sendable (T) async throws -> Void)
    async throws
{
    guard !items.isEmpty else { return }
    try await withThrowingTaskGroup(of: Void.self) { group in
        var running = 0
        for item in items {
            if running >= max(1, limit) {
                try await group.next()
                running -= 1
            }
            group.addTask { try await body(item) }
            running += 1
        }
        try await group.waitForAll()
    }
}
