import Foundation
import Testing

/// The arrows between the targets point one way (`docs/architecture.md`): the core imports Foundation alone, the
/// adapters never reach the sandboxes or the command line. `Package.swift` forbids most of it already; this also
/// catches a system module (`Glibc`, `Dispatch`) that the package would let through.
@Suite struct TargetBoundaryTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources")

    /// What may stand before `import` (`public import Glibc` is an import too).
    static let accessLevels: Set<String> = ["public", "package", "internal", "fileprivate", "private"]

    /// Every module each Swift file under `Sources/<target>` imports, by file name.
    static func imports(of target: String) throws -> [String: Set<String>] {
        let root = sources.appendingPathComponent(target)
        var result: [String: Set<String>] = [:]
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let file = files?.nextObject() as? URL {
            guard file.pathExtension == "swift" else { continue }
            let text = try String(contentsOf: file, encoding: .utf8)
            let modules = text.split(separator: "\n").compactMap { line -> String? in
                let words = line.split(separator: " ").map(String.init)
                guard let at = words.firstIndex(of: "import"), at + 1 < words.count,
                    words[..<at].allSatisfy({ $0.hasPrefix("@") || Self.accessLevels.contains($0) })
                else { return nil }
                return words[at + 1]
            }
            result[file.lastPathComponent] = Set(modules)
        }
        return result
    }

    @Test func theCoreImportsFoundationAlone() throws {
        let imports = try Self.imports(of: "SyncCore")
        #expect(imports.count >= 10, "the core's files are found")
        for (file, modules) in imports {
            #expect(modules.isSubset(of: ["Foundation"]), "SyncCore/\(file) imports \(modules.sorted())")
        }
    }

    @Test func theAdaptersNeverImportTheSandboxesOrTheCommandLine() throws {
        let imports = try Self.imports(of: "LeverHubertSync")
        #expect(imports.count >= 50, "the adapters' files are found")
        for (file, modules) in imports {
            let wrong = modules.intersection(["Sandbox", "FlyingFox", "ArgumentParser"])
            #expect(wrong.isEmpty, "LeverHubertSync/\(file) imports \(wrong.sorted())")
        }
    }
}
