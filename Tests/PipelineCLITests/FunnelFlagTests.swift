import EventGenerator
import Testing

@testable import PipelineCLI

@Suite("produce --funnel: each key sets its own rate, bad pairs refused by name")
struct FunnelFlagTests {
    func failure(_ text: String) -> ConfigurationError? {
        var configuration = GeneratorConfiguration()
        do {
            try ProduceCommand.applyFunnel(text, to: &configuration)
            return nil
        } catch {
            return error as? ConfigurationError
        }
    }

    @Test("every key reaches its field; keys left out keep their defaults")
    func keysReachTheirFields() throws {
        var configuration = GeneratorConfiguration()
        let defaults = configuration
        try ProduceCommand.applyFunnel("page_views=7,click=0.1,add_to_cart=0.2", to: &configuration)
        #expect(configuration.funnel.meanPageViews == 7)
        #expect(configuration.funnel.clickPerPageView == 0.1)
        #expect(configuration.funnel.addToCart == 0.2)
        #expect(configuration.funnel.checkout == defaults.funnel.checkout)
        #expect(configuration.funnel.purchase == defaults.funnel.purchase)
        #expect(configuration.logShare == defaults.logShare)

        try ProduceCommand.applyFunnel("checkout=0.3,purchase=0.4,logs=0.5", to: &configuration)
        #expect(configuration.funnel.checkout == 0.3)
        #expect(configuration.funnel.purchase == 0.4)
        #expect(configuration.logShare == 0.5)
        #expect(configuration.funnel.meanPageViews == 7)
    }

    @Test("unknown keys and pairs without a value name the keys there are; values are range-checked per key")
    func badPairs() {
        let keys = "page_views, click, add_to_cart, checkout, purchase, logs"
        for text in ["views=3", "page_views", "click=0.1,", "=0.5"] {
            let error = failure(text)
            #expect(error?.code == .malformed, "\(text)")
            #expect(error?.setting == "--funnel", "\(text)")
            #expect(error?.remedy.contains(keys) == true, "\(text)")
        }
        #expect(failure("page_views=500") == nil)
        #expect(failure("page_views=1001")?.code == .outOfRange)
        #expect(failure("click=1.5")?.code == .outOfRange)
        #expect(failure("logs=-0.1")?.setting == "--funnel logs")
    }
}
