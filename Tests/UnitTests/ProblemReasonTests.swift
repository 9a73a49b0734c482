import Foundation
import Testing

@testable import LeverHubertSync

/// Every reason a problem can carry is explained for the operator.
@Suite struct ProblemReasonTests {
    static let operations: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("docs/operations.md"), encoding: .utf8)) ?? ""
    }()

    @Test(arguments: ProblemReason.allCases)
    func everyReasonIsDocumentedInOperations(reason: ProblemReason) {
        #expect(!Self.operations.isEmpty)
        #expect(
            Self.operations.contains("`\(reason.rawValue)`"), "docs/operations.md does not explain \(reason.rawValue)")
    }

    @Test func aProblemMadeFromAReasonCarriesItsWireName() {
        let problem = Problem(opportunityId: "o", reason: .writeBackGivenUp, message: "m")
        #expect(problem.reason == "write_back_given_up")

    }
}
