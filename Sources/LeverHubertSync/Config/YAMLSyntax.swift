import Foundation
import Yams

/// Describes a YAML syntax error by position only. Yams' own description quotes the offending line and a caret;
/// a key or token may stand on that line, so only libyaml's problem text and the mark are used.
enum YAMLSyntax {
    /// `configuration file: YAML syntax error at line L, column C: <problem>`.
    static func message(_ error: YamlError, in yaml: String) -> String {
        var mark: (line: Int, column: Int)?
        var problem = "not valid YAML"
        var context: YamlError.Context?
        switch error {
        case .scanner(let c, let text, let m, _), .parser(let c, let text, let m, _),
            .composer(let c, let text, let m, _):
            problem = text
            mark = (m.line, m.column)
            context = c
        case .reader(let text, let offset, _, _):
            problem = text
            mark = offset.map { position(ofByte: $0, in: yaml) }
        case .duplicatedKeysInMapping(_, let context):
            problem = "a key appears twice in one mapping"
            mark = (context.mark.line, context.mark.column)
        default:
            break
        }
        var clean = sanitized(problem, yaml: yaml)
        // "found unexpected end of stream" is reported where the file ends; the context says where the construct
        // that never closed began (an unterminated quote), which is the line a person has to fix.
        if let context, context.mark.line > 0, context.mark.line != mark?.line {
            let what = sanitized(context.text, yaml: yaml)
            clean += " (\(what) that begins at line \(context.mark.line), column \(context.mark.column))"
        }
        guard let mark, mark.line > 0 else { return "configuration file: YAML syntax error: \(clean)" }
        return "configuration file: YAML syntax error at line \(mark.line), column \(mark.column): \(clean)"
    }

    /// The problem text, unless it quotes any of the document (then a generic one): libyaml's problems are fixed
    /// phrases, and this makes sure no future one can carry the text of a line out.
    static func sanitized(_ problem: String, yaml: String) -> String {
        let printable = String(
            problem.unicodeScalars.filter { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f }
                .map(Character.init))
        let words = yaml.split(whereSeparator: { $0.isWhitespace || $0 == ":" }).filter { $0.count >= 6 }
        let lines = yaml.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { $0.count >= 3 }
        let quotes = words.contains { printable.contains($0) } || lines.contains { printable.contains($0) }
        if printable.isEmpty || quotes || printable.count > 120 { return "the text there is not valid YAML" }
        return printable
    }

    /// Line and column (1-based) of a byte offset.
    static func position(ofByte offset: Int, in yaml: String) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        for byte in yaml.utf8.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }
}
