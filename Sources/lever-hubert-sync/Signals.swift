import Dispatch
import Foundation

/// Turns SIGTERM and SIGINT into a cooperative stop: the handler runs on a dispatch queue (never in signal context),
/// and the default action (dying between two lines) is switched off while the watcher lives.
final class SignalWatcher: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    static let signals = [SIGTERM, SIGINT]

    /// Starts watching; `handler` is called with the signal's number, once per delivery.
    init(_ handler: @escaping @Sendable (Int32) -> Void) {
        for number in Self.signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for source in sources { source.cancel() }
        for number in Self.signals { signal(number, SIG_DFL) }
    }
}
