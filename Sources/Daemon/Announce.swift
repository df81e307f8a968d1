import Foundation

/// Writes `text` and a newline to stdout at once. `print` is fully buffered when stdout is a
/// file or a pipe (systemd's journal), where a start-up message would wait until exit.
func announce(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
