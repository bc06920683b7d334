import Testing
import WhisperAPICore

@Suite struct PlanPriorityTests {
    @Test func paidPlansGetLowerQueuePriorityNumbers() {
        #expect(Plan.payg.queuePriority < Plan.pro.queuePriority)
        #expect(Plan.pro.queuePriority < Plan.free.queuePriority)
        #expect(Plan.payg.queuePriority == 1)
        #expect(Plan.allCases.allSatisfy { $0.queuePriority >= 1 })
    }

    @Test func weightsAreTheSeedsJobPriorities() {
        #expect(Plan.free.weight == 1)
        #expect(Plan.pro.weight == 5)
        #expect(Plan.payg.weight == 10)
        #expect(JobPriorities.queuePriority(forWeight: 100) == 1)
    }
}

@Suite struct RetryPolicyTests {
    @Test func backoffDoublesFromTheBaseDelay() {
        let policy = RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(500))
        #expect(policy.delay(afterAttempts: 1) == .milliseconds(500))
        #expect(policy.delay(afterAttempts: 2) == .milliseconds(1000))
        #expect(policy.delay(afterAttempts: 3) == .milliseconds(2000))
        #expect(RetryPolicy(maxAttempts: 0, baseDelay: .zero).maxAttempts == 1)
    }
}

@Suite struct AudioSnifferTests {
    func bytes(_ text: String, padTo count: Int = 12) -> [UInt8] {
        Array(text.utf8) + Array(repeating: 0, count: max(0, count - text.utf8.count))
    }

    @Test func recognisesEachSupportedContainer() {
        #expect(AudioSniffer.detect(Array("RIFF".utf8) + [1, 2, 3, 4] + Array("WAVE".utf8)) == .wav)
        #expect(AudioSniffer.detect(bytes("OggS")) == .ogg)
        #expect(AudioSniffer.detect(bytes("fLaC")) == .flac)
        #expect(AudioSniffer.detect(bytes("ID3\u{4}")) == .mp3)
        #expect(AudioSniffer.detect([0xFF, 0xFB, 0x90, 0x64] + Array(repeating: 0, count: 8)) == .mp3)
        #expect(AudioSniffer.detect([0xFF, 0xF1, 0x50, 0x80] + Array(repeating: 0, count: 8)) == .aac)
        #expect(AudioSniffer.detect([0, 0, 0, 0x20] + Array("ftypM4A ".utf8)) == .mp4)
        #expect(AudioSniffer.detect([0x1A, 0x45, 0xDF, 0xA3] + Array(repeating: 0, count: 8)) == .webm)
    }

    @Test func refusesTextAndOtherFiles() {
        #expect(AudioSniffer.detect(bytes("hello, this is text")) == nil)
        #expect(AudioSniffer.detect(bytes("%PDF-1.7")) == nil)
        #expect(AudioSniffer.detect(bytes("RIFF\0\0\0\0AVI ")) == nil)
        #expect(AudioSniffer.detect([]) == nil)
    }
}

@Suite struct APIKeyMaterialTests {
    @Test func generatedKeysParseAndVerify() {
        let key = APIKeyMaterial.generate()
        #expect(APIKeyMaterial.prefix(of: key.plaintext) == key.prefix)
        #expect(APIKeyMaterial.matches(key.plaintext, storedHash: key.hash))
        #expect(!key.hash.contains(key.plaintext))
        #expect(key.hash.count == 64)
    }

    @Test func wrongOrMalformedKeysFail() {
        let key = APIKeyMaterial.generate()
        let other = APIKeyMaterial.generate()
        #expect(!APIKeyMaterial.matches(other.plaintext, storedHash: key.hash))
        #expect(APIKeyMaterial.prefix(of: "wapi_short_x") == nil)
        #expect(APIKeyMaterial.prefix(of: "Bearer") == nil)
        #expect(APIKeyMaterial.prefix(of: key.plaintext + "x") == nil)
        #expect(APIKeyMaterial.prefix(of: "wapi_abcd-efg_" + String(repeating: "a", count: 32)) == nil)
    }

    @Test func constantTimeEqualityComparesWholeValues() {
        #expect(APIKeyMaterial.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!APIKeyMaterial.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!APIKeyMaterial.constantTimeEqual([1, 2], [1, 2, 3]))
    }
}
