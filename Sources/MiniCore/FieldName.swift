/// A key of a JSON object, by name: to read which keys a request body holds.
struct FieldName: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// Throws a `DecodingError` naming the first key of this JSON object that is not in
    /// `known`, with `problem` as its description: a misspelt key is refused rather than
    /// read as absent.
    func refuseUnknownFields(_ known: Set<FieldName>, problem: String) throws {
        let container = try container(keyedBy: FieldName.self)
        if let key = container.allKeys.first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: problem)
        }
    }
}
