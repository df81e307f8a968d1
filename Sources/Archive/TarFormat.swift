/// Layout of the ustar header block (POSIX.1-1988) and the constants both the writer and
/// the reader use.
enum TarFormat {
    static let blockSize = 512
    /// Two zero blocks end an archive.
    static let endMarkerSize = 2 * blockSize
    /// The largest number an 11-digit octal field holds (8 GiB - 1 as a size).
    static let maxOctal11: Int64 = 0o777_7777_7777

    static let name = 0..<100
    static let mode = 100..<108
    static let uid = 108..<116
    static let gid = 116..<124
    static let size = 124..<136
    static let modificationTime = 136..<148
    static let checksum = 148..<156
    static let typeFlag = 156
    static let linkName = 157..<257
    static let magic = 257..<263
    static let version = 263..<265
    static let prefix = 345..<500
    /// star headers (ustar magic and the `tar\0` trailer) have a shorter prefix, followed by
    /// the access and change times.
    static let starPrefix = 345..<476
    static let starTrailer = 508..<512
    /// GNU headers hold the access and change times where ustar has its prefix.
    static let gnuAccessTime = 345..<357
    static let gnuChangeTime = 357..<369

    /// `ustar\0` then `00`: POSIX ustar as the writer writes it (Go's reader, dockerd's, takes
    /// any header with this magic as ustar, whatever its version).
    static let ustarMagic: [UInt8] = Array("ustar\0".utf8)
    static let ustarVersion: [UInt8] = Array("00".utf8)
    /// What ends a star header.
    static let starTrailerValue: [UInt8] = Array("tar\0".utf8)
    /// `ustar ` then ` \0`: GNU tar's format, which has no prefix field.
    static let gnuMagic: [UInt8] = Array("ustar ".utf8)
    static let gnuVersion: [UInt8] = Array(" \0".utf8)

    enum TypeFlag {
        static let regular = UInt8(ascii: "0")
        static let regularOld = UInt8(0)
        static let hardLink = UInt8(ascii: "1")
        static let symlink = UInt8(ascii: "2")
        static let characterDevice = UInt8(ascii: "3")
        static let blockDevice = UInt8(ascii: "4")
        static let directory = UInt8(ascii: "5")
        static let fifo = UInt8(ascii: "6")
        static let paxExtended = UInt8(ascii: "x")
        static let paxGlobal = UInt8(ascii: "g")
        static let gnuLongName = UInt8(ascii: "L")
        static let gnuLongLink = UInt8(ascii: "K")
    }

    /// `size` rounded up to whole blocks.
    static func padded(_ size: Int64) -> Int64 {
        (size + Int64(blockSize) - 1) / Int64(blockSize) * Int64(blockSize)
    }

    /// The header checksum: the sum of all bytes with the checksum field read as spaces.
    /// Returns the unsigned sum and, for old writers that used signed chars, the signed one.
    static func checksums(of block: some Collection<UInt8>) -> (unsigned: Int64, signed: Int64) {
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (offset, byte) in block.enumerated() {
            let value = checksum.contains(offset) ? UInt8(ascii: " ") : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        return (unsigned, signed)
    }
}
