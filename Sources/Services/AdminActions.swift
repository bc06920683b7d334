import Foundation
import Persistence
import WhisperAPICore

/// User, key, usage and queue administration shared by the CLI and the admin API.
public struct AdminActions: Sendable {
    let users: UserRepository
    let usageRecords: UsageRepository
    let queue: any TranscriptionQueue
    /// Told when a key is revoked or a plan changes, so no API server goes on trusting what it remembers.
    let notices: any CredentialNotices
    let configuration: ServiceConfiguration
    let transcriptions: TranscriptionRepository
    let jobControl: JobControl

    public init(
        users: UserRepository, usage: UsageRepository, queue: any TranscriptionQueue, notices: any CredentialNotices,
        configuration: ServiceConfiguration, transcriptions: TranscriptionRepository, jobControl: JobControl
    ) {
        self.transcriptions = transcriptions
        self.jobControl = jobControl
        self.users = users
        self.usageRecords = usage
        self.queue = queue
        self.notices = notices
        self.configuration = configuration
    }

    /// Why an admin action was refused.
    public enum Refusal: Error, CustomStringConvertible, Equatable {
        /// The email is empty, too long or not of the form `name@host`.
        case invalidEmail
        case emailTaken(String)
        case noSuchUser(String)
        case noSuchKey(String)

        public var description: String {
            switch self {
            case .invalidEmail: "the email must look like name@host and have at most \(AdminActions.maxEmailLength) characters"
            case .emailTaken(let email): "a user with email \(email) already exists"
            case .noSuchUser(let reference): "no user \(reference)"
            case .noSuchKey(let prefix): "no active key with prefix \(prefix)"
            }
        }
    }

    /// The longest email address accepted (RFC 5321's path limit).
    public static let maxEmailLength = 254

    /// Whether `email` (trimmed, lowercased) is one address: `name@host`, no spaces or control characters.
    static func isValidEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        return email.count <= maxEmailLength && parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty
            && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
            && email.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F && !"<>()[],;:\\\"".unicodeScalars.contains($0) }
    }

    /// Creates a user; refuses a malformed or taken email.
    public func createUser(email: String, plan: Plan, isAdmin: Bool) async throws -> User {
        let email = email.trimmingCharacters(in: .whitespaces).lowercased()
        guard Self.isValidEmail(email) else { throw Refusal.invalidEmail }
        if try await users.find(email: email) != nil {
            throw Refusal.emailTaken(email)
        }
        return try await users.create(User(email: email, plan: plan, isAdmin: isAdmin))
    }

    /// Creates a key for the user with this email; the plaintext is returned once and never stored. The record
    /// holds the key's webhook signing secret, also to be shown once.
    public func createKey(email: String, name: String?) async throws -> (key: String, record: APIKeyRecord) {
        guard let user = try await users.find(email: email.lowercased()) else {
            throw Refusal.noSuchUser(email)
        }
        return try await createKey(for: user, name: name)
    }

    func createKey(for user: User, name: String?) async throws -> (key: String, record: APIKeyRecord) {
        let generated = APIKeyMaterial.generate()
        let record = APIKeyRecord(
            userId: user.id, name: name, prefix: generated.prefix, hash: generated.hash, webhookSecret: APIKeyMaterial.generateWebhookSecret())
        try await users.addKey(record)
        return (generated.plaintext, record)
    }

    /// Revokes the key with this display prefix.
    public func revokeKey(prefix: String) async throws {
        guard try await users.revokeKey(prefix: prefix) else {
            throw Refusal.noSuchKey(prefix)
        }
        await notices.announce()
    }

    /// Changes the plan of the user with this email or id.
    public func setPlan(user reference: String, plan: Plan) async throws -> User {
        let user = try await find(user: reference)
        guard let updated = try await users.setPlan(userId: user.id, plan) else {
            throw Refusal.noSuchUser(reference)
        }
        await notices.announce()
        return updated
    }

    /// The user with this email or id.
    public func find(user reference: String) async throws -> User {
        let found = if let id = UUID(uuidString: reference) {
            try await users.find(id: id)
        } else {
            try await users.find(email: reference.lowercased())
        }
        guard let found else { throw Refusal.noSuchUser(reference) }
        return found
    }

    /// A user's usage this month, with the plan's quota.
    public func usage(of user: User, now: Date = Date()) async throws -> UsageReport {
        let period = UsagePeriod(containing: now)
        let totals = try await usageRecords.totals(userId: user.id, period: period)
        let quota = configuration.planPolicy.limits(for: user.plan).monthlyAudioMinutes
        func milli(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
        let minutes = totals.audioSeconds / 60
        let daily = try await usageRecords.daily(userId: user.id, period: period)
            .map { DailyUsage(day: $0.day, audioMinutes: milli($0.audioSeconds / 60)) }
        return UsageReport(
            userId: user.id.lowercasedString, plan: user.plan, period: period.description,
            audioSeconds: milli(totals.audioSeconds), audioMinutes: milli(minutes), jobs: totals.jobs, quotaMinutes: quota,
            remainingMinutes: quota.map { milli(max(0, Double($0) - minutes)) }, periodEndsAt: period.end, daily: daily)
    }

    /// Every user, oldest first.
    public func allUsers() async throws -> [User] {
        try await users.all()
    }

    /// A user's keys, never their secrets.
    public func keys(of user: User) async throws -> [APIKeyRecord] {
        try await users.keys(userId: user.id)
    }

    /// Deletes every transcription of `user` with its job, audio and result (the user, their keys and their usage
    /// records stay); returns how many.
    public func deleteData(of user: User) async throws -> Int {
        var deleted = 0
        while true {
            let page = try await transcriptions.list(owner: user.id, limit: 100, after: nil)
            guard !page.isEmpty else {
                try await jobControl.deleteBatches(of: user.id)
                return deleted
            }
            for row in page {
                try await jobControl.delete(row)
                deleted += 1
            }
        }
    }

    /// Job counts by state.
    public func queueStats() async throws -> QueueStats {
        try await queue.getQueueStats()
    }

    /// Deletes finished jobs past the configured retention now; returns how many.
    public func cleanUpQueue() async throws -> Int {
        let now = Date()
        return try await queue.cleanupOldJobs(
            completedBefore: now.addingTimeInterval(-configuration.jobRetention.inSeconds),
            failedBefore: now.addingTimeInterval(-configuration.failedJobRetention.inSeconds))
    }

    /// On first start (no users at all), creates an admin and returns its key, to be shown once.
    ///
    /// Several API servers starting together on one database race here; the losers find the
    /// winner's admin and show nothing.
    public func bootstrapAdminIfNeeded() async throws -> (user: User, key: String)? {
        guard try await users.count() == 0 else { return nil }
        let user: User
        do {
            user = try await createUser(email: configuration.adminEmail, plan: .payg, isAdmin: true)
        } catch {
            if try await users.find(email: configuration.adminEmail.lowercased()) != nil { return nil }
            throw error
        }
        let (key, _) = try await createKey(for: user, name: "bootstrap")
        return (user, key)
    }
}

/// A user's metered usage in the current month, as `GET /api/v1/usage` and the admin routes show it.
public struct UsageReport: Codable, Sendable, Equatable {
    public let userId: String
    public let plan: Plan
    /// `2026-11`: calendar months in UTC.
    public let period: String
    public let audioSeconds: Double
    public let audioMinutes: Double
    /// Completed transcriptions.
    public let jobs: Int
    /// The plan's monthly minutes; nil: unlimited (metered).
    public let quotaMinutes: Int?
    public let remainingMinutes: Double?
    public let periodEndsAt: Date
    /// Minutes per UTC day of the month, for the days that have any.
    public let daily: [DailyUsage]

    /// Every key present, `null` where there is no value.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(userId, forKey: .userId)
        try container.encode(plan, forKey: .plan)
        try container.encode(period, forKey: .period)
        try container.encode(audioSeconds, forKey: .audioSeconds)
        try container.encode(audioMinutes, forKey: .audioMinutes)
        try container.encode(jobs, forKey: .jobs)
        try container.encode(quotaMinutes, forKey: .quotaMinutes)
        try container.encode(remainingMinutes, forKey: .remainingMinutes)
        try container.encode(periodEndsAt, forKey: .periodEndsAt)
        try container.encode(daily, forKey: .daily)
    }
}

/// One day's metered audio.
public struct DailyUsage: Codable, Sendable, Equatable {
    /// `2026-11-30`, in UTC.
    public let day: String
    public let audioMinutes: Double
}
