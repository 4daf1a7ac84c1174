/// Told after each batch commits, on the worker's thread: aggregate refresh
/// and metrics hang here. Must return quickly; slow work goes elsewhere.
public protocol CommitObserver: AnyObject {
    func batchCommitted(_ batch: EventBatch, tally: CommitTally)
}
