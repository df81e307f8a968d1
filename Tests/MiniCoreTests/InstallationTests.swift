import MiniCore
import Testing

@Suite("installations sharing an engine")
struct InstallationTests {
    let installation = Installation(id: "aaaa")

    @Test("a container is its own when labelled so, or unlabelled (older mini) and of one of its apps")
    func owns() {
        let apps: Set<String> = ["shop", "blog"]
        #expect(installation.owns(["mini.installation": "aaaa", "mini.app": "other"], apps: apps))
        #expect(!installation.owns(["mini.installation": "bbbb", "mini.app": "shop"], apps: apps))
        #expect(installation.owns(["mini.app": "shop"], apps: apps))
        #expect(installation.owns(["mini.run": "blog"], apps: apps))
        #expect(!installation.owns(["mini.app": "other"], apps: apps))
        #expect(!installation.owns([:], apps: apps))
    }

    @Test("a container may be its own unless another installation's label says otherwise")
    func mayOwn() {
        #expect(installation.mayOwn(["mini.installation": "aaaa"]))
        #expect(installation.mayOwn(["mini.app": "anything"]))
        #expect(!installation.mayOwn(["mini.installation": "bbbb", "mini.app": "shop"]))
    }
}
