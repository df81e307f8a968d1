import MiniCore
import Testing

@Suite("app names")
struct AppNameTests {
    @Test("valid names", arguments: ["a", "hello", "my-app-2", "0abc", String(repeating: "x", count: 40)])
    func valid(name: String) throws {
        #expect(try AppName(name).rawValue == name)
    }

    @Test(
        "invalid names",
        arguments: ["", "Hello", "-app", "app-", "my_app", "a.b", "ünï", "a b", String(repeating: "x", count: 41)]
    )
    func invalid(name: String) {
        #expect(throws: NameError.self) { try AppName(name) }
    }

    @Test("folder names are made valid")
    func sanitizing() {
        #expect(AppName(sanitizing: "My App")?.rawValue == "my-app")
        #expect(AppName(sanitizing: "__hello__world__")?.rawValue == "hello-world")
        #expect(AppName(sanitizing: "Ünicode.Name")?.rawValue == "nicode-name")
        #expect(AppName(sanitizing: String(repeating: "ab-", count: 30))?.rawValue.count ?? 0 <= 40)
        #expect(AppName(sanitizing: "___") == nil)
    }
}
