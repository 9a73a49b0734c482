import Foundation
import Testing

@testable import LeverHubertSync

/// The adaptive sending rate as pure logic over an injected clock (seconds): cut, regrowth, floor, ceiling.
@Suite struct AdaptiveRateTests {
    /// Serves one request every `step` seconds from `from` to `to`, returning the rates seen.
    static func serve(_ rate: inout AdaptiveRate, from: Double, to: Double, step: Double = 0.1) -> [Double] {
        var seen: [Double] = []
        var t = from
        while t < to {
            rate.served(now: t)
            seen.append(rate.rate)
            t += step
        }
        return seen
    }

    @Test func startsAtTheCeilingAndNeverGoesAbove() {
        var rate = AdaptiveRate(ceiling: 8, now: 0)
        #expect(rate.rate == 8)
        let seen = Self.serve(&rate, from: 0, to: 600, step: 1)
        #expect(seen.allSatisfy { $0 == 8 }, "served alone: the configured rate, never more")
        #expect(rate.cuts == 0 && rate.learned(now: 600) == 8)
    }

    @Test func aThrottleCutsMultiplicativelyOncePerCongestionEvent() {
        var rate = AdaptiveRate(ceiling: 8, now: 0)
        let sentBefore = rate.generation
        let first = rate.throttle(generation: sentBefore, now: 1)
        #expect(first)
        #expect(abs(rate.rate - 8 * AdaptiveRate.decrease) < 1e-9)
        // Seven more requests sent before the cut come back 429: the same congestion, no further cut.
        for _ in 0..<7 {
            let again = rate.throttle(generation: sentBefore, now: 1.01)
            #expect(!again)
        }
        #expect(abs(rate.rate - 5.6) < 1e-9)
        #expect(rate.throttled == 8 && rate.cuts == 1)
        // A request sent after the cut and throttled: a new event, a new cut.
        let next = rate.throttle(generation: rate.generation, now: 1.5)
        #expect(next)
        #expect(abs(rate.rate - 5.6 * 0.7) < 1e-9)
        #expect(rate.lowest == rate.rate)
    }

    @Test func regrowsGraduallyFlattensBelowTheThrottledRateThenProbesUpToTheCeiling() {
        var rate = AdaptiveRate(ceiling: 8, now: 0)
        rate.throttle(generation: rate.generation, now: 0)
        let cut = rate.rate
        let seen = Self.serve(&rate, from: 0, to: 120)
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0 <= $1 }, "regrowth never goes down")
        #expect(seen[1] < cut + 0.5, "gradual: no jump back right after the cut")
        // The plateau: a little below the rate that was throttled, held for seconds.
        let atFive = seen[50]
        let atEight = seen[80]
        #expect(atFive > cut && atFive <= 8 * AdaptiveRate.plateauShare + 0.3)
        #expect(atEight - atFive < 0.5, "flat near the plateau")
        #expect(seen.last == 8, "back at the ceiling once it keeps being served, never above")
        #expect(seen.allSatisfy { $0 <= 8 })
    }

    @Test func neverBelowTheFloor() {
        var rate = AdaptiveRate(ceiling: 8, now: 0)
        for i in 0..<100 { rate.throttle(generation: rate.generation, now: Double(i)) }
        #expect(rate.rate == rate.minimum)
        #expect(rate.minimum > 0 && rate.minimum < 8)
        #expect(rate.burst(configured: 10) >= 1, "at least one request may go")
        let tiny = AdaptiveRate(ceiling: 0.05, now: 0)
        #expect(tiny.minimum == 0.05, "a ceiling below the floor is its own floor")
    }

    @Test func aLearnedRateIsTheStartHeldThenRegrownTowardTheCeiling() {
        var rate = AdaptiveRate(ceiling: 8, start: 3, now: 100)
        #expect(rate.rate == 3)
        let seen = Self.serve(&rate, from: 100, to: 200)
        #expect(seen[10] < 3.2, "held near the learned rate at first")
        #expect(seen.last == 8, "regrown to the ceiling when the key has room")
        #expect(AdaptiveRate(ceiling: 8, start: 20, now: 0).rate == 8, "a learned rate never exceeds the ceiling")
        #expect(AdaptiveRate(ceiling: 8, start: 0, now: 0).rate > 0)
    }

    @Test func learnedIsThePlateauOnceCut() {
        var rate = AdaptiveRate(ceiling: 8, now: 0)
        rate.throttle(generation: 0, now: 0)
        _ = Self.serve(&rate, from: 0, to: 30)
        #expect(rate.learned(now: 30) <= 8 * AdaptiveRate.plateauShare + 1e-9)
        #expect(rate.learned(now: 30) <= rate.rate)
        // A minute and more served without a throttle: the regrown rate is proven.
        _ = Self.serve(&rate, from: 30, to: 90)
        #expect(rate.learned(now: 90) == rate.rate)
    }

    @Test func unservedTimeIsMeasuredFromTheFirstThrottleAfterServing() {
        var rate = AdaptiveRate(ceiling: 8, now: 0)
        #expect(rate.unserved(now: 50) == 0)
        rate.throttle(generation: rate.generation, now: 10)
        rate.throttle(generation: rate.generation, now: 20)
        #expect(rate.unserved(now: 40) == 30)
        rate.served(now: 41)
        #expect(rate.unserved(now: 60) == 0)
    }

    @Test func theBurstShrinksWithTheRate() {
        var rate = AdaptiveRate(ceiling: 8, now: 0)
        #expect(rate.burst(configured: 10) == 10)
        rate.throttle(generation: 0, now: 0)
        #expect(abs(rate.burst(configured: 10) - 7) < 1e-9)
    }

    /// A key's bucket (10/s, burst 20) shared with a neighbour steadily spending 7/s, in simulated time: the limiter
    /// settles near the 3/s left, with few 429s for either side.
    @Test func beside7Of10ItSettlesOnTheRateLeftWithFew429s() {
        var key = (tokens: 20.0, last: 0.0)
        func take(_ now: Double) -> Bool {
            key.tokens = min(20, key.tokens + (now - key.last) * 10)
            key.last = now
            guard key.tokens >= 1 else { return false }
            key.tokens -= 1
            return true
        }
        var rate = AdaptiveRate(ceiling: 8, now: 0)
        var next = 0.0
        var neighbourNext = 0.0
        var sent = 0
        var throttled = 0
        var served = 0
        var neighbour = 0
        var neighbourThrottled = 0
        var clientTokens = 10.0
        var clientLast = 0.0
        while served < 600 {
            if neighbourNext <= next {
                neighbour += 1
                if !take(neighbourNext) { neighbourThrottled += 1 }
                neighbourNext += 1.0 / 7
                continue
            }
            // The client's own bucket at the adaptive rate.
            clientTokens = min(rate.burst(configured: 10), clientTokens + (next - clientLast) * rate.rate)
            clientLast = next
            if clientTokens < 1 {
                next += max((1 - clientTokens) / rate.rate, 0.000_1)
                continue
            }
            clientTokens -= 1
            sent += 1
            let generation = rate.generation
            if take(next) {
                served += 1
                rate.served(now: next + 0.01)
            } else {
                throttled += 1
                rate.throttle(generation: generation, now: next + 0.01)
            }
            next += 0.001
        }
        let ownShare = Double(throttled) / Double(sent)
        let neighbourShare = Double(neighbourThrottled) / Double(neighbour)
        let achieved = Double(served) / next
        #expect(ownShare <= 0.10, "own 429s \(throttled) of \(sent)")
        #expect(neighbourShare <= 0.15, "neighbour's 429s \(neighbourThrottled) of \(neighbour)")
        #expect(achieved >= 3 / 1.5, "served at \(achieved)/s of the 3/s left")
        #expect(rate.learned(now: next) < 4.5, "learned near the rate left: \(rate.learned(now: next))")
    }
}
