/// Every failure the library reports. The C API maps each case to a `ponder_status` and
/// the message to `ponder_last_error()`; nothing in the library traps on bad input.
/// `Kind` is include/ponder.h's `ponder_status` (less PONDER_OK), value for value;
/// StatusTests holds the two to each other.
/// Messages quote what callers gave (prompts, plans, paths, a model file's keys); whatever in
/// them cannot be seen is escaped (`PonderError.visible`), so a message never hides a stray
/// line end, tab, NUL or zero-width character, and never ends early at a NUL in C.
public struct PonderError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Int32, Sendable, CaseIterable {
        case invalidArgument = 1
        case io = 2
        case badModel = 3
        case badPrompt = 4
        case badPlan = 5
        case wrongState = 6
        case bufferTooSmall = 7
        case outOfMemory = 8
        case `internal` = 9
        /// The model cannot do what was asked (no image encoder, no describe token).
        case unsupported = 10
        /// A progress callback asked to stop (ponder_draw, ponder_generate).
        case cancelled = 11

        /// The status's name, which `ponder_status_string` returns.
        public var name: StaticString {
            switch self {
            case .invalidArgument: return "invalid argument"
            case .io: return "i/o error"
            case .badModel: return "bad model file"
            case .badPrompt: return "bad prompt"
            case .badPlan: return "bad plan"
            case .wrongState: return "wrong call order"
            case .bufferTooSmall: return "buffer too small"
            case .outOfMemory: return "out of memory"
            case .internal: return "internal error"
            case .unsupported: return "unsupported by the model"
            case .cancelled: return "cancelled"
            }
        }
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = PonderError.visible(message)
    }

    /// `text` with every character that cannot be seen written as an escape: `\n`, `\r`,
    /// `\t`, `\0`, else `\u{XXXX}` for other controls, format characters (zero-width spaces
    /// and joiners, bidirectional overrides, the byte order mark), default-ignorable code points,
    /// separators other than the plain space (no-break spaces, line separators), private-use,
    /// unassigned and surrogate code points. Visible text, the plain space included, is kept.
    public static func visible(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            case " ": out.unicodeScalars.append(scalar)
            default:
                if invisible(scalar) {
                    out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    static func invisible(_ scalar: Unicode.Scalar) -> Bool {
        let p = scalar.properties
        if p.isDefaultIgnorableCodePoint { return true }
        switch p.generalCategory {
        case .control, .format, .spaceSeparator, .lineSeparator, .paragraphSeparator,
             .privateUse, .surrogate, .unassigned:
            return true
        default:
            return false
        }
    }

    public var description: String { message }

    static func badModel(_ message: String) -> PonderError { PonderError(.badModel, message) }
    static func badPrompt(_ message: String) -> PonderError { PonderError(.badPrompt, message) }
    static func badPlan(_ message: String) -> PonderError { PonderError(.badPlan, message) }
    static func invalidArgument(_ message: String) -> PonderError { PonderError(.invalidArgument, message) }
    static func wrongState(_ message: String) -> PonderError { PonderError(.wrongState, message) }
}
