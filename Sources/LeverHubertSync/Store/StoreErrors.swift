import GRDB

extension Store {
    /// Whether `error` is SQLite's "busy" or "locked": another connection holds the database, and trying again later
    /// may succeed. Classified by the primary result code (`SQLITE_BUSY`, `SQLITE_LOCKED`, whatever the extended code
    /// such as `SQLITE_BUSY_SNAPSHOT`), never by the error's message.
    public static func isBusy(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
    }
}
