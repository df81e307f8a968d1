import NIOCore
import NIOHTTP1

/// Lets upstream response heads end their lines with a bare LF, as CGI servers do (busybox
/// httpd passes a script's `Content-Type: text/plain\n\n` on as it is) and as nginx accepts:
/// NIO's strict parser refuses them, so this handler, just before the response decoder, puts
/// the missing CR back.
///
/// Only response heads are looked at. A head is expected once a request head goes out (the
/// handler watches the outbound writes); it ends at its empty line, and an informational head
/// (`100 Continue`, but not `101`) is followed by another. Everything else passes through
/// untouched, and a head without bare LFs is passed on as the same buffer.
final class LineEndingRepairHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    private var scanner: HeadScanner?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) {
            scanner = HeadScanner()
        }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard scanner != nil else {
            context.fireChannelRead(data)
            return
        }
        let buffer = unwrapInboundIn(data)
        let (bareLineFeeds, headEnded) = buffer.withUnsafeReadableBytes { bytes in
            scanner!.scan(bytes)
        }
        if headEnded {
            scanner = nil
        }
        guard !bareLineFeeds.isEmpty else {
            context.fireChannelRead(data)
            return
        }
        context.fireChannelRead(wrapInboundOut(Self.insertingCarriageReturns(in: buffer, before: bareLineFeeds)))
    }

    /// A copy of `buffer` with a CR before each of the LFs at `offsets` (ascending, relative to
    /// the reader index).
    private static func insertingCarriageReturns(in buffer: ByteBuffer, before offsets: [Int]) -> ByteBuffer {
        var repaired = ByteBufferAllocator().buffer(capacity: buffer.readableBytes + offsets.count)
        var start = 0
        for offset in offsets {
            repaired.writeImmutableBuffer(buffer.getSlice(at: buffer.readerIndex + start, length: offset - start)!)
            repaired.writeInteger(UInt8(ascii: "\r"))
            start = offset
        }
        repaired.writeImmutableBuffer(
            buffer.getSlice(at: buffer.readerIndex + start, length: buffer.readableBytes - start)!
        )
        return repaired
    }
}

/// Follows a response head across reads: where its lines end without CR, and where it ends.
struct HeadScanner {
    private var isFirstLine = true
    private var lineLength = 0
    private var previousWasCarriageReturn = false
    private var statusCode = 0

    /// Scans the next bytes of the head, up to its end. Returns the offsets of the LFs without a
    /// CR before them, and whether the head ended in `bytes` (a final head: informational heads
    /// are skipped over).
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> (bareLineFeeds: [Int], headEnded: Bool) {
        var bareLineFeeds: [Int] = []
        var lineStart = 0
        while let lineFeed = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
            let segment = bytes[lineStart..<lineFeed]
            let endsWithCarriageReturn =
                segment.last.map { $0 == UInt8(ascii: "\r") } ?? previousWasCarriageReturn
            if !endsWithCarriageReturn {
                bareLineFeeds.append(lineFeed)
            }
            noteLineBytes(segment)
            let length = lineLength - (endsWithCarriageReturn ? 1 : 0)
            lineStart = lineFeed + 1
            lineLength = 0
            previousWasCarriageReturn = false
            if isFirstLine {
                // Empty lines before the status line are tolerated by the decoder.
                isFirstLine = length == 0
            } else if length == 0 {
                if (100..<200).contains(statusCode) && statusCode != 101 {
                    self = HeadScanner()
                } else {
                    return (bareLineFeeds, true)
                }
            }
        }
        noteLineBytes(bytes[lineStart...])
        return (bareLineFeeds, false)
    }

    /// Counts the bytes of the current line, picking the status code out of the status line
    /// (`HTTP/1.1 200 ...`: bytes 9 to 11).
    private mutating func noteLineBytes(_ segment: Slice<UnsafeRawBufferPointer>) {
        guard let last = segment.last else { return }
        if isFirstLine {
            for (column, byte) in zip(lineLength..., segment) where (9...11).contains(column) {
                statusCode = statusCode * 10 + Int(byte &- UInt8(ascii: "0"))
            }
        }
        lineLength += segment.count
        previousWasCarriageReturn = last == UInt8(ascii: "\r")
    }
}
