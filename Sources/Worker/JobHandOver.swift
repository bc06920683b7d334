import WhisperAPICore

/// Which jobs a worker leaves to others of its fleet: a diarized job, where this worker's engine cannot diarize but
/// another worker claims it can (a fleet where only some workers have the speaker model). Such a job goes back to
/// the queue, due again after `delay`, without counting an attempt, and this worker takes the next one. Where no
/// worker claims it, the job runs here and fails at once with `DIARIZATION_UNAVAILABLE`, rather than wait for ever.
public struct JobHandOver: Sendable {
    let diarizes: Bool
    let fleet: any DiarizationCapability
    let delay: Duration

    /// `diarizes`: whether this worker's engine can; `fleet`: whether some worker of the deployment can.
    public init(diarizes: Bool, fleet: any DiarizationCapability, delay: Duration = .seconds(2)) {
        self.diarizes = diarizes
        self.fleet = fleet
        self.delay = delay
    }

    /// A worker that runs every job it takes (a fleet of one kind).
    public static let never = JobHandOver(diarizes: true, fleet: FixedCapability(false))

    /// Whether `job` should go to another worker.
    func leavesToOthers(_ job: LeasedJob) async -> Bool {
        guard job.data.diarize != nil, !diarizes else { return false }
        return await fleet.available()
    }
}
