import EventContract
import Testing

@Suite("Fixtures")
struct FixtureTests {
    @Test("valid fixture is accepted", arguments: Fixtures.names(in: "valid"))
    func validFixture(_ name: String) throws {
        let result = validate(try Fixtures.bytes("valid", name))
        #expect(result.error == nil, "\(name): \(result.error.map(String.init(describing:)) ?? "")")
    }

    @Test(
        "invalid fixture is rejected with the reason in its name",
        arguments: Fixtures.names(in: "invalid"))
    func invalidFixture(_ name: String) throws {
        let expected = try #require(
            Fixtures.expectedReason(name), "fixture name must be reason__what.json")
        let result = validate(try Fixtures.bytes("invalid", name))
        #expect(
            result.reason == expected,
            "\(name): \(result.error.map(String.init(describing:)) ?? "accepted")")
    }

    @Test func fixtureFoldersAreNotEmpty() {
        #expect(Fixtures.names(in: "valid").count > 50)
        #expect(Fixtures.names(in: "invalid").count > 150)
    }

    @Test func everyReasonCodeHasAFixtureOrACodeTest() {
        let reasons = Set(Fixtures.names(in: "invalid").compactMap(Fixtures.expectedReason))
        let all: [ContractError.Reason] = [
            .empty, .invalidUTF8, .invalidJSON, .notObject, .missingField, .wrongType, .invalidValue,
            .nulEscape, .tooDeep, .timeOutOfRange,
        ]
        for reason in all { #expect(reasons.contains(reason.rawValue), "no fixture for \(reason)") }
        // too_large is built in code (ValidatorTests), it needs a megabyte.
    }

    /// Errors carry offsets and known field names, never payload bytes.
    @Test("detail never echoes the payload", arguments: Fixtures.names(in: "invalid"))
    func detailHasNoPayload(_ name: String) throws {
        let bytes = try Fixtures.bytes("invalid", name)
        let error = try #require(validate(bytes).error)
        let markers = ["u1842", "7b0c1c3e", "buy-button", "checkout", "purchase", "nope", "fatal"]
        for marker in markers {
            #expect(!error.detail.contains(marker), "\(name): detail holds payload text")
        }
    }
}
