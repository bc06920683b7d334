@testable import BullMQ
import Testing

/// Job options arrive as JSON written by any BullMQ client; every job a worker takes is read this way.
@Suite struct JobOptionsParsingTests {
    @Test func readsWhatPythonAndNodeClientsWrite() {
        let options = JobOptions(json: #"{"attempts":3,"backoff":{"type":"exponential","delay":1000},"priority":6,"delay":0,"# +
            #""removeOnComplete":true,"removeOnFail":{"count":5,"age":60},"jobId":"a\"b\u00e9\ud83d\ude00","lifo":false}"#)
        #expect(options.attempts == 3)
        #expect(options.priority == 6)
        #expect(options.backoff == .exponential(milliseconds: 1000))
        #expect(options.removeOnComplete == .remove)
        #expect(options.jobId == "a\"bé😀")
        #expect(options.lifo == false)
        #expect(JobOptions(json: #"{"backoff": 250, "lifo": true, "removeOnComplete": 10}"#).backoff == .fixed(milliseconds: 250))
        #expect(JobOptions(json: #"{"backoff": 250, "lifo": true, "removeOnComplete": 10}"#).removeOnComplete == .count(10))
        #expect(JobOptions(json: #" { "lifo" : true } "#).lifo)
    }

    @Test func malformedJSONGivesTheDefaults() {
        for text in ["", "{", #"{"attempts":}"#, #"{"attempts":3"#, #"{"attempts":3} x"#, "[1,2", #"{"a":tru}"#] {
            #expect(JSONValue(parsing: text) == nil, "\(text)")
            #expect(JobOptions(json: text).attempts == 0)
        }
        #expect(JSONValue(parsing: #"[1, -2.5e3, null, "x\n"]"#) == .array([.number(1), .number(-2500), .null, .string("x\n")]))
    }
}
