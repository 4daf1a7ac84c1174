import Foundation
import PipelineCore
import Synchronization
import Testing

@testable import PipelineIO

/// What `pipeline_session_windows_lag_seconds` reports (AggregateRefresher's SessionLag): the
/// session windows trail a committed batch until every part of the merge has merged past it.
@Suite("the session windows' lag")
struct SessionLagTests {
    @Test("a batch committed waits for both parts' merges; a merge of one part alone does not end the wait")
    func waitsForBothParts() throws {
        let reported = Mutex<[Double]>([])
        let lag = SessionLag(parts: 2) { seconds in reported.withLock { $0.append(seconds) } }
        Thread.sleep(forTimeInterval: 0.02)
        lag.committed()
        let releasedAfterCommit = WallClock.monotonicMs() + 1
        lag.merged(upToMs: releasedAfterCommit, part: 0)
        let afterOnePart = try #require(reported.withLock { $0.last })
        #expect(afterOnePart >= 0.02, "part 1 has not merged since the worker started: the batch still waits")
        lag.merged(upToMs: releasedAfterCommit, part: 1)
        #expect(reported.withLock { $0.last } == 0, "both parts merged past the commit")
        Thread.sleep(forTimeInterval: 0.01)
        lag.committed()
        #expect(try #require(reported.withLock { $0.last }) > 0, "a later batch waits again")
    }
}
