#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MultipartKit
import NIOCore

/// Feeds one multipart upload (a small field, then a file part of `megabytes` MB) to a parser in 64 KiB chunks, as
/// the server receives it, and reports the time and the process's peak resident memory.
let megabytes = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 500 : 500
let which = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "ours"
let boundary = "----whisperapi-bench-7d3a"
let head = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\ntiny.en\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.wav\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
let tail = Array("\r\n--\(boundary)--\r\n".utf8)
var chunk = ByteBuffer()
chunk.writeBytes((0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
let chunks = megabytes * 16

func peakRSSMegabytes() -> Double {
    var usage = rusage()
    getrusage(0, &usage)  // RUSAGE_SELF
    return Double(usage.ru_maxrss) / 1024
}

let baseline = peakRSSMegabytes()
var fileBytes = 0
var parts = 0
let start = DispatchTime.now()
switch which {
case "header-flood-multipart-kit", "header-flood-ours":
    // A hostile part whose header line never ends: how much does each parser hold?
    var flood = ByteBuffer()
    flood.writeBytes(Array(repeating: UInt8(ascii: "a"), count: 65536))
    let opening = ByteBuffer(bytes: Array("--\(boundary)\r\nX-Flood: ".utf8))
    do {
        if which == "header-flood-ours" {
            var parser = MultipartStreamParser(boundary: boundary)
            _ = try parser.feed(opening)
            for _ in 0..<(megabytes * 16) { _ = try parser.feed(flood) }
        } else {
            let parser = MultipartParser(boundary: boundary)
            try parser.execute(opening)
            for _ in 0..<(megabytes * 16) { try parser.execute(flood) }
        }
        print(String(format: "%@: %d MB of header accepted, peak RSS %.1f MB", which, megabytes, peakRSSMegabytes()))
    } catch {
        print(String(format: "%@: refused after at most %.1f MB peak RSS (%@)", which, peakRSSMegabytes(), "\(error)"))
    }
    exit(0)
case "multipart-kit":
    let parser = MultipartParser(boundary: boundary)
    parser.onBody = { buffer in if parts == 1 { fileBytes += buffer.readableBytes } }
    parser.onPartComplete = { parts += 1 }
    try parser.execute(ByteBuffer(bytes: head))
    for _ in 0..<chunks { try parser.execute(chunk) }
    try parser.execute(ByteBuffer(bytes: tail))
default:
    var parser = MultipartStreamParser(boundary: boundary)
    func count(_ events: [MultipartStreamParser.Event]) {
        for event in events {
            switch event {
            case .body(let buffer): if parts == 1 { fileBytes += buffer.readableBytes }
            case .partEnd: parts += 1
            case .partBegin: break
            }
        }
    }
    count(try parser.feed(ByteBuffer(bytes: head)))
    for _ in 0..<chunks { count(try parser.feed(chunk)) }
    count(try parser.feed(ByteBuffer(bytes: tail)))
    precondition(parser.isComplete)
}
let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
precondition(fileBytes == chunks * 65536 && parts == 2, "parsed \(fileBytes) file bytes in \(parts) parts")
print(String(format: "%@: %d MB in %.2f s (%.0f MB/s), peak RSS %.1f MB (%.1f MB before parsing)", which, megabytes, seconds, Double(megabytes) / seconds, peakRSSMegabytes(), baseline))
