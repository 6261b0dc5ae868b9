/// Every failure the library reports. The C API maps each case to a `ponder_status` and
/// the message to `ponder_last_error()`; nothing in the library traps on bad input.
public struct PonderError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Int32, Sendable {
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
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    static func badModel(_ message: String) -> PonderError { PonderError(.badModel, message) }
    static func badPrompt(_ message: String) -> PonderError { PonderError(.badPrompt, message) }
    static func badPlan(_ message: String) -> PonderError { PonderError(.badPlan, message) }
    static func invalidArgument(_ message: String) -> PonderError { PonderError(.invalidArgument, message) }
    static func wrongState(_ message: String) -> PonderError { PonderError(.wrongState, message) }
}
