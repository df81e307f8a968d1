/// Go's `path.Clean` for `/`-separated paths, which Docker applies to `.dockerignore` patterns
/// and tar entry names: repeated `/` collapse, `.` elements go, `..` removes the element
/// before it (a rooted path cannot climb above `/`), and an empty result becomes `.`.
///
/// Works on bytes so that names are never normalised (an NFD name stays NFD).
enum CleanPath {
    private static let slash = UInt8(ascii: "/")
    private static let dot = UInt8(ascii: ".")

    static func clean(_ path: String) -> String {
        String(decoding: clean(Array(path.utf8)), as: UTF8.self)
    }

    static func clean(_ path: [UInt8]) -> [UInt8] {
        let isRooted = path.first == slash
        var elements: [ArraySlice<UInt8>] = []
        var climbs = 0  // leading `..` kept by an unrooted path
        for element in path.split(separator: slash, omittingEmptySubsequences: true) {
            if element.elementsEqual([dot]) { continue }
            if element.elementsEqual([dot, dot]) {
                if !elements.isEmpty {
                    elements.removeLast()
                } else if !isRooted {
                    climbs += 1
                }
                continue
            }
            elements.append(element)
        }
        var result: [UInt8] = isRooted ? [slash] : []
        let parts = Array(repeating: [dot, dot][...], count: climbs) + elements
        for (index, part) in parts.enumerated() {
            if index > 0 { result.append(slash) }
            result.append(contentsOf: part)
        }
        return result.isEmpty ? [dot] : result
    }

    /// True when a cleaned relative path leaves its root: `..` or `../...`.
    static func climbsOutOfRoot(_ cleaned: [UInt8]) -> Bool {
        cleaned.starts(with: [dot, dot]) && (cleaned.count == 2 || cleaned[2] == slash)
    }
}
