import Foundation
import Logging

/// Wires the parts of a pass together from a configuration: transports, rate budgets, clients, engine.
public struct SyncRuntime: Sendable {
    public let config: AppConfig
    public let lever: LeverClient
    public let hubert: HubertClient
    public let requests: RequestLedger
    public let logger: Logger
    /// The OAuth token provider when Lever uses OAuth.
    public let oauth: LeverOAuth?
    /// Stops the pass's HTTP at once when tripped (SIGTERM, SIGINT): transfers in flight are aborted.
    public let abort: AbortSignal

    public init(config: AppConfig, logger: Logger) {
        self.config = config
        self.logger = logger
        let requests = RequestLedger(retryBudget: config.retry.budget, deadlineMinutes: config.passDeadlineMinutes)
        let abort = AbortSignal()
        self.abort = abort
        self.requests = requests
        func options(caFile: String?) -> TransportOptions {
            var options = TransportOptions()
            options.caFile = caFile
            options.maxConcurrent = config.concurrency + 2
            options.totalTimeoutMs = config.requestTimeoutMs
            options.connectTimeoutMs = config.connectTimeoutMs
            options.abort = abort
            return options
        }
        let leverOptions = options(caFile: config.lever.caFile)
        let hubertOptions = options(caFile: config.hubert.caFile)
        let leverTransport = CurlTransport(options: leverOptions)
        let authorization: @Sendable () async throws -> String
        var onUnauthorized: (@Sendable (String) async -> Bool)?
        if let settings = config.lever.oauth {
            // The token endpoint has its own transport: no abort signal and its own timeout, so a refresh begun is
            // finished whatever stops the pass (a rotated answer thrown away would lose the grant).
            var tokenOptions = TransportOptions()
            tokenOptions.caFile = config.lever.caFile
            tokenOptions.maxConcurrent = 1
            tokenOptions.totalTimeoutMs = LeverOAuth.refreshTimeoutMs
            tokenOptions.connectTimeoutMs = min(config.connectTimeoutMs, LeverOAuth.refreshTimeoutMs)
            let oauth = LeverOAuth(
                settings: settings, transport: CurlTransport(options: tokenOptions), logger: logger,
                stopping: { abort.isTripped })
            self.oauth = oauth
            authorization = { try await oauth.authorization() }
            onUnauthorized = { rejected in await oauth.invalidate(rejected: rejected) }
        } else {
            self.oauth = nil
            let basic = "Basic " + Data(((config.lever.apiKey?.value ?? "") + ":").utf8).base64EncodedString()
            authorization = { basic }
        }
        let leverHTTP = ServiceClient(
            service: .lever, transport: leverTransport,
            bucket: TokenBucket(rate: config.lever.requestsPerSecond, burst: config.lever.burst),
            policy: config.retry, ledger: requests, logger: logger, authorization: authorization,
            onUnauthorized: onUnauthorized)
        let bearer = "Bearer " + config.hubert.apiKey.value
        let hubertHTTP = ServiceClient(
            service: .hubert, transport: CurlTransport(options: hubertOptions),
            bucket: TokenBucket(rate: config.hubert.requestsPerSecond, burst: config.hubert.burst),
            policy: config.retry, ledger: requests, logger: logger, authorization: { bearer })
        self.lever = LeverClient(http: leverHTTP, baseURL: config.lever.baseURL)
        self.hubert = HubertClient(http: hubertHTTP, baseURL: config.hubert.baseURL)
    }

    /// The engine over a store.
    public func engine(store: Store, clock: @escaping @Sendable () -> Millis = { Date().millis }) -> SyncEngine {
        var engine = SyncEngine(
            config: config, store: store, lever: lever, hubert: hubert, requests: requests, logger: logger, clock: clock
        )
        if let oauth { engine.afterPass = { await oauth.unsavedGrant } }
        return engine
    }

    /// Opens the store for a pass. A dry run creates and changes no file: an existing database is opened read-only
    /// (migrated in memory if it is older), a missing one is an empty in-memory store.
    public static func openStore(path: String, dryRun: Bool) throws -> Store {
        guard dryRun else { return try Store(path: path) }
        return FileManager.default.fileExists(atPath: path) ? try Store(readOnlyPath: path) : try Store()
    }
}
