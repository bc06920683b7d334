import NIOCore
import RedisClient
import Testing

@Suite struct RESPParserTests {
    func parseAll(_ text: String) throws -> [RESPValue] {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: text)
        var values: [RESPValue] = []
        while let value = try parser.parse(&buffer) { values.append(value) }
        #expect(buffer.readableBytes == 0)
        return values
    }

    @Test func resp2Types() throws {
        let values = try parseAll("+OK\r\n-ERR bad\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n:1\r\n$1\r\na\r\n*-1\r\n$0\r\n\r\n")
        #expect(values == [
            .simpleString("OK"), .error("ERR bad"), .integer(42), .bulkString(ByteBuffer(string: "hello")), .bulkString(nil),
            .array([.integer(1), .bulkString(ByteBuffer(string: "a"))]), .array(nil), .bulkString(ByteBuffer()),
        ])
        #expect(values[4].isNull && values[6].isNull)
    }

    @Test func resp3Types() throws {
        let values = try parseAll("_\r\n,3.5\r\n,inf\r\n#t\r\n#f\r\n(123456789012345678901\r\n=7\r\ntxt:abc\r\n%1\r\n+k\r\n:1\r\n~2\r\n:1\r\n:2\r\n>2\r\n+message\r\n+x\r\n!3\r\nERR\r\n")
        #expect(values == [
            .null, .double(3.5), .double(.infinity), .boolean(true), .boolean(false), .bigNumber("123456789012345678901"),
            .verbatimString("abc"), .map([(.simpleString("k"), .integer(1))]), .set([.integer(1), .integer(2)]),
            .push([.simpleString("message"), .simpleString("x")]), .error("ERR"),
        ])
        #expect(values[7].stringMap == ["k": "1"])
    }

    @Test func incompleteInputConsumesNothingAtAnySplit() throws {
        let text = "*3\r\n$3\r\nfoo\r\n:-7\r\n%1\r\n+a\r\n,1.25\r\n"
        let bytes = Array(text.utf8)
        for split in 1..<bytes.count {
            var parser = RESPParser()
            var buffer = ByteBuffer(bytes: bytes[0..<split])
            let before = buffer.readableBytes
            #expect(try parser.parse(&buffer) == nil)
            #expect(buffer.readableBytes == before)
            buffer.writeBytes(bytes[split...])
            let value = try #require(try parser.parse(&buffer))
            #expect(value.array?.count == 3)
        }
    }

    @Test func malformedInputIsAnError() {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "?what\r\n")
        #expect(throws: RESPParser.ProtocolError.self) { try parser.parse(&buffer) }
        var bad = ByteBuffer(string: ":12x\r\n")
        #expect(throws: RESPParser.ProtocolError.self) { try parser.parse(&bad) }
    }

    @Test func commandsAreEncodedAsBulkStringArrays() {
        var buffer = ByteBuffer()
        RESPEncoder.encode(["SET", "kéy", .bytes(ByteBuffer(string: "v"))], into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$4\r\nkéy\r\n$1\r\nv\r\n")
    }

    @Test func replyAccessors() {
        #expect(RESPValue.bulkString(ByteBuffer(string: "12")).int == 12)
        #expect(RESPValue.bulkString(ByteBuffer(string: "1.5")).double == 1.5)
        #expect(RESPValue.array([.bulkString(ByteBuffer(string: "a")), .integer(2)]).stringMap == ["a": "2"])
        #expect(RedisError("NOSCRIPT No matching script").code == "NOSCRIPT")
    }
}

@Suite struct RedisConfigurationTests {
    @Test func parsesURLs() throws {
        let plain = try RedisConfiguration(url: "redis://localhost:6390")
        #expect(plain.host == "localhost" && plain.port == 6390 && plain.database == 0 && !plain.useTLS && plain.password == nil)
        let full = try RedisConfiguration(url: "rediss://user:p%40ss@cache.internal:6380/3")
        #expect(full.useTLS && full.username == "user" && full.password == "p@ss" && full.database == 3 && full.port == 6380)
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@h")
        #expect(passwordOnly.password == "secret" && passwordOnly.username == nil && passwordOnly.port == 6379)
        #expect(!full.redacted.contains("p@ss"))
        #expect(throws: RedisConfiguration.InvalidURL.self) { try RedisConfiguration(url: "http://h") }
        #expect(throws: RedisConfiguration.InvalidURL.self) { try RedisConfiguration(url: "redis://h/x") }
    }
}
