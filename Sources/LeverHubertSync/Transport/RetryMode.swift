/// How a request may be retried.
public enum RetryMode: Sendable {
    /// Safe to repeat (GET, PUT, set-semantics POSTs, POSTs with an Idempotency-Key): retried on 429, 5xx and transport errors.
    case idempotent
    /// Not safe to repeat (Lever note POST): retried only when provably not applied (429, not sent);
    /// otherwise `MaybeAppliedError` is thrown so the caller reads back.
    case nonIdempotent
}
