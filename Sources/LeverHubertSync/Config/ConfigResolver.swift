import Foundation

extension ConfigLoader {
    /// Turns the file form into run settings, applying `${VAR}` expansion and environment overrides. One step per
    /// section (`ConfigResolver`), in the order their problems are reported.
    public static func resolve(_ file: ConfigFile, databaseOverride: String? = nil, environment: [String: String])
        throws -> (config: AppConfig, warnings: [String])
    {
        var resolver = ConfigResolver(file: file, environment: environment)
        let base = try resolver.baseURLs()
        let databasePath = try databasePath(file, databaseOverride: databaseOverride, environment: environment)
        let oauth = try resolver.oauth(databasePath: databasePath)
        let lever = try resolver.lever(baseURL: base.lever, oauth: oauth)
        let hubert = try resolver.hubert(baseURL: base.hubert)
        try ConfigResolver.checkServices(lever: lever, hubert: hubert)
        let retry = resolver.retry()
        let lookback = try resolver.lookbackMinutes()
        let autoMoveByPosting = try resolver.autoMoveByPosting()
        let healthcheckURL = try resolver.healthcheckURL()
        let sync = file.sync
        let config = AppConfig(
            lever: lever, hubert: hubert,
            newApplicantStage: try resolver.value(sync?.newApplicantStage, "sync.newApplicantStage")
                ?? AppConfig.Defaults.newApplicantStage,
            lookbackMinutes: lookback,
            concurrency: min(64, max(1, sync?.concurrency ?? AppConfig.Defaults.concurrency)),
            requestTimeoutMs: max(100, sync?.requestTimeoutMs ?? 30_000),
            connectTimeoutMs: max(100, sync?.connectTimeoutMs ?? 10_000),
            cacheMinutes: min(10_080, max(0, sync?.cacheMinutes ?? 60)),
            paused: sync?.paused ?? false,
            holdDays: min(3650, max(1, sync?.holdDays ?? 28)),
            staleAfterDays: staleAfterDays(file),
            giveUpAfterDays: min(3650, max(1, sync?.giveUpAfterDays ?? 7)),
            passDeadlineMinutes: min(1440, max(1, sync?.passDeadlineMinutes ?? 30)),
            retentionDays: min(36_500, max(30, file.database?.retentionDays ?? 365)),
            healthcheckURL: healthcheckURL,
            retry: retry,
            autoMove: try resolver.autoMoveDefaults(),
            autoMoveByPosting: autoMoveByPosting,
            databasePath: databasePath)
        return (config, resolver.warnings)
    }
}

/// The steps of `ConfigLoader.resolve`, one per section of the file: each reads its section, expands `${VAR}`
/// references, applies the environment's overrides and refuses what cannot work. Warnings are collected on the way.
struct ConfigResolver {
    let file: ConfigFile
    let environment: [String: String]
    private(set) var warnings: [String] = []

    init(file: ConfigFile, environment: [String: String]) {
        self.file = file
        self.environment = environment
    }

    /// A setting's value with `${VAR}` expanded and white space trimmed; nil when absent or empty.
    func value(_ raw: String?, _ key: String) throws -> String? {
        guard let raw else { return nil }
        let expanded = try ConfigLoader.expand(raw, key: key, environment: environment)
            .trimmingCharacters(in: .whitespaces)
        return expanded.isEmpty ? nil : expanded
    }

    /// An environment variable's trimmed value; nil when unset or empty.
    func env(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            return nil
        }
        return value
    }

    /// An API key: the environment variable, else the inline key, else the key file (warned about when others can
    /// read it).
    mutating func secret(inline: String?, file keyFile: String?, envName: String, key: String) throws -> Secret {
        if let value = env(envName) { return Secret(value) }
        if let value = try value(inline, "\(key).apiKey") { return Secret(value) }
        if let path = try value(keyFile, "\(key).apiKeyFile") {
            guard let data = FileManager.default.contents(atPath: path),
                let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
                !text.isEmpty
            else {
                throw ConfigError("\(key).apiKeyFile: cannot read a key from \(path)")
            }
            if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let mode = attributes[.posixPermissions] as? Int, mode & 0o007 != 0 || mode & 0o020 != 0
            {
                // World-readable, or writable by the group: a Kubernetes Secret mounted with fsGroup (0440) or a
                // systemd credential is group-readable by design and draws no warning.
                warnings.append(
                    "\(key).apiKeyFile \(path) is readable by other users (mode \(String(mode, radix: 8))); chmod 600 it"
                )
            }
            return Secret(text)
        }
        throw ConfigError("\(key).apiKey is missing: set \(envName), \(key).apiKey or \(key).apiKeyFile")
    }

    /// `lever.baseURL` (as Lever's v1 API root) and `hubert.baseURL`, or their environment overrides.
    func baseURLs() throws -> (lever: String, hubert: String) {
        let leverBase =
            try env("LEVER_BASE_URL") ?? value(file.lever?.baseURL, "lever.baseURL") ?? AppConfig.Defaults.leverBaseURL
        let hubertBase =
            try env("HUBERT_BASE_URL") ?? value(file.hubert?.baseURL, "hubert.baseURL")
            ?? AppConfig.Defaults.hubertBaseURL
        let leverKey = env("LEVER_BASE_URL") != nil ? "lever.baseURL (from LEVER_BASE_URL)" : "lever.baseURL"
        try ConfigLoader.validateBaseURL(leverBase, key: leverKey)
        let leverBaseURL = try ConfigLoader.leverAPIBase(leverBase, key: leverKey)
        try ConfigLoader.validateBaseURL(hubertBase, key: "hubert.baseURL")
        return (leverBaseURL, hubertBase)
    }

    /// `lever.oauth`; nil when absent. No refresh token and no token file is not a configuration error:
    /// `authorize` makes the first grant, and a pass without one exits 77 saying so.
    func oauth(databasePath: String) throws -> AppConfig.LeverOAuthSettings? {
        guard let o = file.lever?.oauth else { return nil }
        guard let clientId = try value(o.clientId, "lever.oauth.clientId"),
            let clientSecret = try value(o.clientSecret, "lever.oauth.clientSecret")
        else {
            throw ConfigError("lever.oauth needs clientId and clientSecret")
        }
        let tokenURL = try value(o.tokenURL, "lever.oauth.tokenURL") ?? "https://auth.lever.co/oauth/token"
        try ConfigLoader.validateBaseURL(tokenURL, key: "lever.oauth.tokenURL")
        let tokenFile = try value(o.tokenFile, "lever.oauth.tokenFile") ?? ConfigLoader.defaultTokenFile(databasePath)
        let refresh = try value(o.refreshToken, "lever.oauth.refreshToken").map(Secret.init)
        var settings = AppConfig.LeverOAuthSettings(
            clientId: clientId, clientSecret: Secret(clientSecret), refreshToken: refresh, tokenURL: tokenURL,
            tokenFile: tokenFile)
        if let authorizeURL = try value(o.authorizeURL, "lever.oauth.authorizeURL") {
            try ConfigLoader.validateBaseURL(authorizeURL, key: "lever.oauth.authorizeURL")
            settings.authorizeURL = authorizeURL
        }
        if let audience = try value(o.audience, "lever.oauth.audience") { settings.audience = audience }
        if let redirect = try value(o.redirectURI, "lever.oauth.redirectURI") {
            guard let url = URL(string: redirect), let scheme = url.scheme?.lowercased(),
                scheme == "https" || scheme == "http", url.host != nil
            else {
                throw ConfigError("lever.oauth.redirectURI: not an http(s) URL")
            }
            settings.redirectURI = redirect
        }
        settings.confidentialAccess = o.confidentialAccess ?? false
        settings.spentMarker = SpentTokenMarker(environment: environment)
        return settings
    }

    /// `lever`: the API key is needed unless OAuth is configured and no key is given anyway.
    mutating func lever(baseURL: String, oauth: AppConfig.LeverOAuthSettings?) throws -> AppConfig.LeverSettings {
        let lever = file.lever
        let keyless =
            oauth != nil && env("LEVER_API_KEY") == nil && lever?.apiKey == nil && lever?.apiKeyFile == nil
        return AppConfig.LeverSettings(
            baseURL: baseURL,
            apiKey: keyless
                ? nil
                : try secret(inline: lever?.apiKey, file: lever?.apiKeyFile, envName: "LEVER_API_KEY", key: "lever"),
            oauth: oauth,
            performAs: try value(lever?.performAs, "lever.performAs"),
            requestsPerSecond: lever?.requestsPerSecond ?? AppConfig.Defaults.leverRequestsPerSecond,
            burst: lever?.burst ?? AppConfig.Defaults.leverBurst,
            caFile: try value(lever?.caFile, "lever.caFile"))
    }

    /// `hubert`: the API key is always needed.
    mutating func hubert(baseURL: String) throws -> AppConfig.HubertSettings {
        let hubert = file.hubert
        return AppConfig.HubertSettings(
            baseURL: baseURL,
            apiKey: try secret(
                inline: hubert?.apiKey, file: hubert?.apiKeyFile, envName: "HUBERT_API_KEY", key: "hubert"),
            requestsPerSecond: hubert?.requestsPerSecond ?? AppConfig.Defaults.hubertRequestsPerSecond,
            burst: hubert?.burst ?? AppConfig.Defaults.hubertBurst,
            caFile: try value(hubert?.caFile, "hubert.caFile"))
    }

    /// Both services' CA files readable and request rates in range.
    static func checkServices(lever: AppConfig.LeverSettings, hubert: AppConfig.HubertSettings) throws {
        for (key, ca) in [("lever.caFile", lever.caFile), ("hubert.caFile", hubert.caFile)] {
            if let ca, !FileManager.default.isReadableFile(atPath: ca) {
                throw ConfigError("\(key): cannot read \(ca)")
            }
        }
        guard (0.01...1_000_000).contains(lever.requestsPerSecond),
            (0.01...1_000_000).contains(hubert.requestsPerSecond)
        else {
            throw ConfigError("requestsPerSecond must be between 0.01 and 1000000")
        }
    }

    /// `sync.retry` and `sync.unservedTimeoutSeconds`, bounded so that no delay or count built from them can
    /// overflow.
    func retry() -> RetryPolicy {
        var retry = RetryPolicy()
        if let r = file.sync?.retry {
            retry.maxAttempts = min(100, max(1, r.maxAttempts ?? retry.maxAttempts))
            retry.baseDelayMs = min(3_600_000, max(0, r.baseDelayMs ?? retry.baseDelayMs))
            retry.maxDelayMs = min(3_600_000, max(retry.baseDelayMs, r.maxDelayMs ?? retry.maxDelayMs))
            retry.budget = min(1_000_000, max(0, r.budget ?? retry.budget))
        }
        retry.unservedTimeoutSeconds = min(86_400, max(1, file.sync?.unservedTimeoutSeconds ?? 120))
        return retry
    }

    /// `sync.lookbackMinutes`: at most a week.
    func lookbackMinutes() throws -> Int {
        let lookback = file.sync?.lookbackMinutes ?? AppConfig.Defaults.lookbackMinutes
        guard (0...10_080).contains(lookback) else {
            throw ConfigError("sync.lookbackMinutes must be between 0 and 10080 (a week)")
        }
        return lookback
    }

    /// `autoMove.postings`: the per-posting overrides.
    func autoMoveByPosting() throws -> [String: GradeStages] {
        var byPosting: [String: GradeStages] = [:]
        for (posting, stages) in file.autoMove?.postings ?? [:] {
            byPosting[posting] = try gradeStages(
                stages.lead, stages.passed, stages.notQualified, "autoMove.postings.\(posting)")
        }
        return byPosting
    }

    /// `autoMove.lead`, `.passed`, `.notQualified`: the default moves.
    func autoMoveDefaults() throws -> GradeStages {
        let move = file.autoMove
        return try gradeStages(move?.lead, move?.passed, move?.notQualified, "autoMove")
    }

    /// Three stage names under `key`.
    private func gradeStages(_ lead: String?, _ passed: String?, _ notQualified: String?, _ key: String) throws
        -> GradeStages
    {
        GradeStages(
            lead: try value(lead, "\(key).lead"), passed: try value(passed, "\(key).passed"),
            notQualified: try value(notQualified, "\(key).notQualified"))
    }

    /// `healthcheck.url`, which must be a valid URL.
    func healthcheckURL() throws -> Secret? {
        guard let url = try value(file.healthcheck?.url, "healthcheck.url") else { return nil }
        try ConfigLoader.validateBaseURL(url, key: "healthcheck.url")
        return Secret(url)
    }
}
