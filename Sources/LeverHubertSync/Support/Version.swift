/// The one source of truth for the tool's version: `--version`, `--json` reports, the User-Agent sent to Lever and
/// Hubert, and `lever_hubert_sync_build_info`.
public enum ToolVersion {
    /// The release version, `MAJOR.MINOR.PATCH`.
    public static let current = "1.2.0"
    /// The User-Agent header of every request.
    public static let userAgent = "lever-hubert-sync/\(current)"
}
