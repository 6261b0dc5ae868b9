import XCTest
@testable import PonderCore
final class PromptTests: XCTestCase { func testX() throws { _ = try Prompt("a red circle") } }
