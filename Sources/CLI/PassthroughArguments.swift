extension Array where Element == String {
    /// A command captured after its app (`mini run APP ...`): without the `--` that may
    /// start it, which is the usual end of options, not part of the command.
    var droppingOptionsTerminator: [String] { first == "--" ? Array(dropFirst()) : self }
}
