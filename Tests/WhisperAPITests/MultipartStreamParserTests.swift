import Hummingbird
@testable import Server
import Testing

@Suite struct MultipartStreamParserTests {
    let boundary = "XyZ"
    var body: String {
        "preamble to ignore\r\n--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nbase\r\n"
            + "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
            + "RIFF\r\n--XyNOT a boundary\r\n-\r\n--X\r\nend\r\n--XyZ--\r\nepilogue"
    }

    /// Feeds `text` in pieces of `size` bytes and joins what comes out per part.
    func parse(_ text: String, pieceSize size: Int) throws -> (parts: [(headers: [String: String], body: String)], complete: Bool) {
        var parser = MultipartStreamParser(boundary: boundary)
        let bytes = Array(text.utf8)
        var parts: [(headers: [String: String], body: String)] = []
        var open = false
        for start in stride(from: 0, to: bytes.count, by: size) {
            let piece = ByteBuffer(bytes: bytes[start..<min(bytes.count, start + size)])
            for event in try parser.feed(piece) {
                switch event {
                case .partBegin(let headers):
                    parts.append((headers, ""))
                    open = true
                case .body(let buffer):
                    #expect(open)
                    parts[parts.count - 1].body += String(buffer: buffer)
                case .partEnd:
                    open = false
                }
            }
        }
        return (parts, parser.isComplete)
    }

    @Test(arguments: [1, 2, 3, 5, 7, 11, 64, 4096])
    func partsSurviveAnyChunking(pieceSize: Int) throws {
        let (parts, complete) = try parse(body, pieceSize: pieceSize)
        #expect(complete)
        #expect(parts.count == 2)
        #expect(parts[0].body == "base")
        #expect(parts[0].headers["content-disposition"] == "form-data; name=\"model\"")
        #expect(parts[1].headers["content-type"] == "audio/wav")
        #expect(parts[1].body == "RIFF\r\n--XyNOT a boundary\r\n-\r\n--X\r\nend")
    }

    @Test func aBodyWithoutItsClosingBoundaryIsIncomplete() throws {
        let cut = String(body.prefix(body.count - 20))
        #expect(try parse(cut, pieceSize: 16).complete == false)
    }

    @Test func garbageAfterTheBoundaryIsAnError() throws {
        var parser = MultipartStreamParser(boundary: boundary)
        #expect(throws: MultipartStreamParser.ParseError.self) {
            _ = try parser.feed(ByteBuffer(string: "--XyZxx\r\n"))
        }
    }

    @Test func boundaryParameterIsRead() {
        #expect(MultipartFormReader.boundary(of: "multipart/form-data; boundary=abc") == "abc")
        #expect(MultipartFormReader.boundary(of: "multipart/form-data; boundary=\"q u\"") == "q u")
        #expect(MultipartFormReader.boundary(of: "application/json") == nil)
        #expect(MultipartFormReader.dispositionValue("filename", in: "form-data; name=\"file\"; filename=\"x.mp3\"") == "x.mp3")
    }
}
