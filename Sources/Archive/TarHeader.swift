import NIOCore

/// The header block(s) the writer emits for one ``ContextEntry``: a ustar header, preceded by
/// a PAX extended header (`x`) when the path or the link target is longer than its field or
/// not ASCII, or when the size does not fit 11 octal digits.
///
/// Owner and group are always 0 (`root`), as the docker CLI sends them; the modification
/// time is clamped to what 11 octal digits hold.
struct TarHeader {
    private let entry: ContextEntry
    private let name: [UInt8]
    private let linkName: [UInt8]
    private let paxRecords: [UInt8]

    init(_ entry: ContextEntry) {
        self.entry = entry
        name = Array(entry.path.utf8) + (entry.kind == .directory ? [UInt8(ascii: "/")] : [])
        switch entry.kind {
        case .symlink(let target), .hardLink(let target): linkName = Array(target.utf8)
        case .file, .directory: linkName = []
        }
        var records: [UInt8] = []
        if !Self.fits(name, in: TarFormat.name) { records += Self.paxRecord("path", name) }
        if !Self.fits(linkName, in: TarFormat.linkName) {
            records += Self.paxRecord("linkpath", linkName)
        }
        if entry.size > TarFormat.maxOctal11 {
            records += Self.paxRecord("size", Array(String(entry.size).utf8))
        }
        paxRecords = records
    }

    /// The bytes ``write(to:)`` appends.
    var encodedSize: Int {
        TarFormat.blockSize
            + (paxRecords.isEmpty
                ? 0 : TarFormat.blockSize + Int(TarFormat.padded(Int64(paxRecords.count))))
    }

    func write(to buffer: inout ByteBuffer) {
        if !paxRecords.isEmpty {
            let paxName = Array("PaxHeaders/".utf8) + name
            buffer.writeBytes(
                Self.block(
                    name: paxName, mode: 0o644, size: Int64(paxRecords.count),
                    typeFlag: TarFormat.TypeFlag.paxExtended,
                    linkName: [], modificationTime: entry.modificationTime
                )
            )
            buffer.writeBytes(paxRecords)
            buffer.writeRepeatingByte(
                0, count: Int(TarFormat.padded(Int64(paxRecords.count))) - paxRecords.count)
        }
        let typeFlag: UInt8
        switch entry.kind {
        case .file: typeFlag = TarFormat.TypeFlag.regular
        case .directory: typeFlag = TarFormat.TypeFlag.directory
        case .symlink: typeFlag = TarFormat.TypeFlag.symlink
        case .hardLink: typeFlag = TarFormat.TypeFlag.hardLink
        }
        buffer.writeBytes(
            Self.block(
                name: name, mode: entry.mode, size: min(entry.size, TarFormat.maxOctal11),
                typeFlag: typeFlag,
                linkName: linkName, modificationTime: entry.modificationTime
            )
        )
    }

    /// Whether `value` can stand in a ustar field as is: ASCII and short enough.
    private static func fits(_ value: [UInt8], in field: Range<Int>) -> Bool {
        value.count <= field.count && value.allSatisfy { $0 < 0x80 }
    }

    /// One PAX record, `"<length> <key>=<value>\n"`, where the length counts its own digits.
    private static func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
        let body = key.utf8.count + value.count + 3  // " ", "=", "\n"
        var length = body + String(body).count
        if String(length).count > String(body).count { length += 1 }
        return Array("\(length) \(key)=".utf8) + value + [UInt8(ascii: "\n")]
    }

    private static func block(
        name: [UInt8], mode: UInt32, size: Int64, typeFlag: UInt8, linkName: [UInt8],
        modificationTime: Int64
    ) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: TarFormat.blockSize)
        func put(_ bytes: some Collection<UInt8>, _ field: Range<Int>) {
            // A value too long for its field is cut: the PAX record before it carries it whole.
            for (offset, byte) in zip(field, bytes.map { $0 < 0x80 ? $0 : UInt8(ascii: "_") }) {
                block[offset] = byte
            }
        }
        func octal(_ value: Int64, _ field: Range<Int>) {
            put(zeroPadded(value, digits: field.count - 1).utf8, field)
        }
        put(name, TarFormat.name)
        octal(Int64(mode & 0o7777), TarFormat.mode)
        octal(0, TarFormat.uid)
        octal(0, TarFormat.gid)
        octal(size, TarFormat.size)
        octal(min(max(modificationTime, 0), TarFormat.maxOctal11), TarFormat.modificationTime)
        block[TarFormat.typeFlag] = typeFlag
        put(linkName, TarFormat.linkName)
        put(TarFormat.ustarMagic, TarFormat.magic)
        put(TarFormat.ustarVersion, TarFormat.version)
        let checksum = zeroPadded(TarFormat.checksums(of: block).unsigned, digits: 6)
        put(Array(checksum.utf8) + [0, UInt8(ascii: " ")], TarFormat.checksum)
        return block
    }

    /// `value` in octal, zero-padded to `digits`.
    private static func zeroPadded(_ value: Int64, digits: Int) -> String {
        let octal = String(value, radix: 8)
        return String(repeating: "0", count: max(digits - octal.count, 0)) + octal
    }
}
